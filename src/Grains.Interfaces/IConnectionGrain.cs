using System.Collections.Immutable;

namespace Presence.Grains.Interfaces;

/// <summary>
/// Who a connection is and where it is. Key: the connection id. <see cref="Rooms"/>: every room it
/// is counted in, in the order its client listed them (one for <c>/rooms/{room}/events</c>, up to
/// 20 for <c>/events?rooms=</c>); <see cref="Room"/> is the first of them.
/// </summary>
[GenerateSerializer, Immutable, Alias("presence.connection")]
public sealed record ConnectionIdentity(
    [property: Id(0)] string Room,
    [property: Id(1)] string ViewerId,
    [property: Id(2)] string FrontEnd,
    [property: Id(3)] DateTimeOffset OpenedAt,
    ImmutableArray<string> Rooms = default)
{
    [Id(4)] private readonly ImmutableArray<string> _rooms = Rooms;

    /// <summary>
    /// The rooms the connection is counted in: activity reports apply to each. A record stored
    /// before the list existed (or written without one) has none: its <see cref="Room"/> alone.
    /// </summary>
    public ImmutableArray<string> Rooms => _rooms.IsDefault ? [Room] : _rooms;
}

/// <summary>What became of an activity report.</summary>
[GenerateSerializer, Alias("presence.activity-outcome")]
public enum ActivityOutcome
{
    /// <summary>Passed on to the presence grain of each of the connection's rooms.</summary>
    Applied,

    /// <summary>No such connection: it never existed, or it has closed.</summary>
    UnknownConnection,

    /// <summary>The token is not the connection's (or the connection was opened without activity reports).</summary>
    WrongToken,
}

/// <summary>
/// The record of one SSE connection: written when the connection opens, forgotten when it closes,
/// never touched in between but by its activity reports. Counting is the room's presence grain's:
/// the front end joins and leaves it directly, so a connection is counted even while this record
/// cannot be stored.
/// </summary>
public interface IConnectionGrain : IGrainWithGuidKey
{
    /// <summary>
    /// Records the connection; with <paramref name="activityToken"/>, the secret its client presents
    /// to report activity (kept as a SHA-256 digest).
    /// </summary>
    Task RecordAsync(ConnectionIdentity info, string? activityToken);

    Task ForgetAsync();

    Task<ConnectionIdentity?> GetAsync();

    /// <summary>
    /// Checks <paramref name="token"/> (in constant time) and marks the connection idle or active
    /// in each of its rooms. Any front end may call it: the client's report need not reach the
    /// front end that holds its stream.
    /// </summary>
    Task<ActivityOutcome> ReportActivityAsync(string token, bool idle);
}
