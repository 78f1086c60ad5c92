using System.Text.Json;

namespace Presence.Client;

/// <summary>Something <see cref="PresenceClient.WatchAsync"/> yields about a room.</summary>
/// <param name="Room">The room's name.</param>
public abstract record RoomEvent(string Room);

/// <summary>The room's counts (SSE <c>event: presence</c>).</summary>
/// <param name="Room">The room's name.</param>
/// <param name="Watching">Distinct viewers in the room.</param>
/// <param name="Connections">Counted connections in the room.</param>
/// <param name="Version">Increases strictly with every change of the room's counts.</param>
/// <param name="Idle">The viewers among <paramref name="Watching"/> whose every connection reported itself idle.</param>
public sealed record PresenceEvent(string Room, int Watching, int Connections, long Version, int Idle) : RoomEvent(Room);

/// <summary>One of the room's published events: <c>id: &lt;n&gt;</c>, <c>event: &lt;type&gt;</c>, <c>data: &lt;json&gt;</c>.</summary>
/// <param name="Room">The room's name.</param>
/// <param name="Id">The room's number for the event: 1, 2, 3, ... in the order they were published.</param>
/// <param name="Type">The type it was published with (<c>message</c> when none was given).</param>
/// <param name="Data">The JSON it was published with.</param>
public sealed record FeedEvent(string Room, long Id, string Type, JsonElement Data) : RoomEvent(Room);

/// <summary>
/// Feed events <paramref name="From"/> to <paramref name="To"/> were missed and are no longer in the
/// room's history (SSE <c>event: gap</c>); the events after them follow.
/// </summary>
/// <param name="Room">The room's name.</param>
/// <param name="From">The first id that is lost.</param>
/// <param name="To">The last id that is lost.</param>
public sealed record GapEvent(string Room, long From, long To) : RoomEvent(Room);

/// <summary>
/// The stream was lost or could not be opened; the client opens it again after <paramref name="Delay"/>
/// and goes on from the last feed event it yielded.
/// </summary>
/// <param name="Room">The room's name.</param>
/// <param name="Delay">How long the client waits before it tries again.</param>
/// <param name="Error">Why: a <see cref="PresenceException"/> (a 503 or 429, say), a network error, or null when the server ended the stream.</param>
public sealed record ReconnectingEvent(string Room, TimeSpan Delay, Exception? Error) : RoomEvent(Room);

/// <summary>A room's snapshot, as <c>GET /rooms/{room}</c> answers it.</summary>
/// <param name="Room">The room's name.</param>
/// <param name="Watching">Distinct viewers in the room.</param>
/// <param name="Connections">Counted connections in the room.</param>
/// <param name="Version">The version of these counts (the same as the presence event that publishes them).</param>
/// <param name="LastEventId">The id of the room's last feed event, 0 if none.</param>
/// <param name="Idle">The viewers among <paramref name="Watching"/> whose every connection reported itself idle.</param>
public sealed record RoomSnapshot(string Room, int Watching, int Connections, long Version, long LastEventId, int Idle);

/// <summary>One of the busiest rooms, as <c>GET /rooms?top=N</c> lists them.</summary>
/// <param name="Room">The room's name.</param>
/// <param name="Watching">Distinct viewers in the room.</param>
public sealed record TopRoom(string Room, int Watching);
