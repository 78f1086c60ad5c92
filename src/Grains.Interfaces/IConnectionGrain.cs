namespace Presence.Grains.Interfaces;

/// <summary>Who a connection is and where it is. Key: the connection id.</summary>
[GenerateSerializer, Immutable, Alias("presence.connection")]
public sealed record ConnectionIdentity(
    [property: Id(0)] string Room,
    [property: Id(1)] string ViewerId,
    [property: Id(2)] string FrontEnd,
    [property: Id(3)] DateTimeOffset OpenedAt);

/// <summary>
/// One SSE connection. Touched when the connection opens and when it closes, never in between:
/// lease renewals go to the room's presence grain in batches.
/// </summary>
public interface IConnectionGrain : IGrainWithGuidKey
{
    /// <summary>Records the connection and joins its room; returns the room's snapshot.</summary>
    Task<PresenceChanged> OpenAsync(ConnectionIdentity info);

    /// <summary>Leaves the room and forgets the connection.</summary>
    Task CloseAsync();

    Task<ConnectionIdentity?> GetAsync();
}
