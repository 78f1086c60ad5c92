using Presence.Grains.Interfaces;

namespace Presence.Grains;

[GenerateSerializer, Alias("connection.state")]
public sealed class ConnectionState
{
    [Id(0)] public ConnectionIdentity? Info { get; set; }
}

/// <summary>
/// One SSE connection. Its record lives in storage and the activation goes away after each call:
/// a connection can stay open for hours, and an idle activation per viewer would cost memory for
/// nothing.
/// </summary>
public sealed class ConnectionGrain(
    [PersistentState("connection", Storage.Rooms)] IPersistentState<ConnectionState> state) : Grain, IConnectionGrain
{
    public async Task<PresenceChanged> OpenAsync(ConnectionIdentity info)
    {
        state.State.Info = info;
        await state.WriteStateAsync();
        DeactivateOnIdle();
        return await Room(info).JoinAsync(info.FrontEnd, new Member(this.GetPrimaryKey(), info.ViewerId));
    }

    public async Task CloseAsync()
    {
        DeactivateOnIdle();
        if (state.State.Info is not { } info)
        {
            return;
        }
        await Room(info).LeaveAsync(this.GetPrimaryKey());
        await state.ClearStateAsync();
    }

    public Task<ConnectionIdentity?> GetAsync()
    {
        DeactivateOnIdle();
        return Task.FromResult(state.State.Info);
    }

    private IPresenceGrain Room(ConnectionIdentity info) => GrainFactory.GetGrain<IPresenceGrain>(info.Room);
}
