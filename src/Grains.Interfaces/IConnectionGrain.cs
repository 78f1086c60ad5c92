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
    [property: Id(4)] ImmutableArray<string> Rooms);

/// <summary>
/// The record of one SSE connection: written when the connection opens, forgotten when it closes,
/// never touched in between. Counting is the room's presence grain's: the front end joins and
/// leaves it directly, so a connection is counted even while this record cannot be stored.
/// </summary>
public interface IConnectionGrain : IGrainWithGuidKey
{
    Task RecordAsync(ConnectionIdentity info);

    Task ForgetAsync();

    Task<ConnectionIdentity?> GetAsync();
}
