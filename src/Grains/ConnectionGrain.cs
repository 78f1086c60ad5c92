using Presence.Grains.Interfaces;

namespace Presence.Grains;

[GenerateSerializer, Alias("connection.state")]
public sealed class ConnectionState
{
    [Id(0)] public ConnectionIdentity? Info { get; set; }
}

/// <summary>
/// The record of one SSE connection. It lives in storage and the activation goes away after each
/// call: a connection can stay open for hours, and an idle activation per viewer would cost memory
/// for nothing.
/// </summary>
public sealed class ConnectionGrain(
    [PersistentState("connection", Storage.Rooms)] IPersistentState<ConnectionState> state) : Grain, IConnectionGrain
{
    public async Task RecordAsync(ConnectionIdentity info)
    {
        DeactivateOnIdle();
        state.State.Info = info;
        await state.WriteStateAsync();
    }

    public async Task ForgetAsync()
    {
        DeactivateOnIdle();
        if (state.RecordExists)
        {
            await state.ClearStateAsync();
        }
    }

    public Task<ConnectionIdentity?> GetAsync()
    {
        DeactivateOnIdle();
        return Task.FromResult(state.State.Info);
    }
}
