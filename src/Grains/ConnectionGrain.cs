using System.Security.Cryptography;
using System.Text;
using Presence.Grains.Interfaces;

namespace Presence.Grains;

[GenerateSerializer, Alias("connection.state")]
public sealed class ConnectionState
{
    [Id(0)] public ConnectionIdentity? Info { get; set; }

    /// <summary>The SHA-256 digest of the activity token; null for a connection opened without activity reports.</summary>
    [Id(1)] public byte[]? ActivityTokenDigest { get; set; }
}

/// <summary>
/// The record of one SSE connection. It lives in storage and the activation goes away after each
/// call: a connection can stay open for hours, and an idle activation per viewer would cost memory
/// for nothing. Activity reports are checked against its token here and passed on to the presence
/// grain of each of its rooms.
/// </summary>
public sealed class ConnectionGrain(
    [PersistentState("connection", Storage.Rooms)] IPersistentState<ConnectionState> state) : Grain, IConnectionGrain
{
    public async Task RecordAsync(ConnectionIdentity info, string? activityToken)
    {
        DeactivateOnIdle();
        state.State.Info = info;
        state.State.ActivityTokenDigest = activityToken is null ? null : Digest(activityToken);
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

    public async Task<ActivityOutcome> ReportActivityAsync(string token, bool idle)
    {
        DeactivateOnIdle();
        if (state.State.Info is not { } info)
        {
            return ActivityOutcome.UnknownConnection;
        }
        // Digests of equal length, compared in constant time: neither the token nor its length leaks.
        if (state.State.ActivityTokenDigest is not { } expected || !CryptographicOperations.FixedTimeEquals(expected, Digest(token)))
        {
            return ActivityOutcome.WrongToken;
        }
        var connectionId = this.GetPrimaryKey();
        await Task.WhenAll(info.Rooms.Select(room => GrainFactory.GetGrain<IPresenceGrain>(room).ReportActivityAsync(connectionId, idle)));
        return ActivityOutcome.Applied;
    }

    private static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
