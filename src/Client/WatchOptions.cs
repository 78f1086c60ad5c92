namespace Presence.Client;

/// <summary>How <see cref="PresenceClient.WatchAsync"/> opens a room's stream.</summary>
public sealed record WatchOptions
{
    /// <summary>An opaque viewer id (<c>?viewer=</c>): connections with the same viewer count once in <c>watching</c>.</summary>
    public string? Viewer { get; init; }

    /// <summary>False to watch without being counted (<c>?count=false</c>): dashboards, server-side consumers.</summary>
    public bool Count { get; init; } = true;

    /// <summary>The id of the last feed event already seen: the stream starts with the events after it.</summary>
    public long? LastEventId { get; init; }

    /// <summary>
    /// A subscribe token for a private room, sent as <c>Authorization: Bearer</c>. The server ends a
    /// stream when its token expires; the next reconnection is then refused (401) and
    /// <see cref="PresenceClient.WatchAsync"/> throws: watch again with a fresh token and the last id seen.
    /// </summary>
    public string? AccessToken { get; init; }
}
