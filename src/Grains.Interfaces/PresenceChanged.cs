namespace Presence.Grains.Interfaces;

/// <summary>
/// The counts of a room as the presence grain published them. <see cref="Version"/> increases
/// strictly with every change the grain publishes, also across reactivations of the grain.
/// </summary>
[GenerateSerializer, Immutable, Alias("presence.changed")]
public sealed record PresenceChanged(
    [property: Id(0)] string Room,
    [property: Id(1)] int Watching,
    [property: Id(2)] int Connections,
    [property: Id(3)] long Version);

/// <summary>One counted connection of a room and the viewer it belongs to.</summary>
[GenerateSerializer, Immutable, Alias("presence.member")]
public readonly record struct Member(
    [property: Id(0)] Guid ConnectionId,
    [property: Id(1)] string ViewerId);
