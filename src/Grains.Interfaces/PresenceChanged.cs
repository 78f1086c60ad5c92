using System.Buffers.Binary;

namespace Presence.Grains.Interfaces;

/// <summary>
/// The counts of a room as the presence grain published them. <see cref="Version"/> increases
/// strictly with every change the grain publishes, also across reactivations of the grain.
/// <see cref="Idle"/>: the viewers among <see cref="Watching"/> whose every connection is reported
/// idle (a viewer within its departure grace has no connection, so it is not idle).
/// </summary>
[GenerateSerializer, Immutable, Alias("presence.changed")]
public sealed record PresenceChanged(
    [property: Id(0)] string Room,
    [property: Id(1)] int Watching,
    [property: Id(2)] int Connections,
    [property: Id(3)] long Version,
    [property: Id(4)] int Idle = 0);

/// <summary>
/// One counted connection of a room and the viewer it belongs to. A connection opened without a
/// viewer id is its own viewer, under <see cref="OwnViewerId"/>.
/// </summary>
[GenerateSerializer, Immutable, Alias("presence.member")]
public readonly record struct Member(
    [property: Id(0)] Guid ConnectionId,
    [property: Id(1)] string ViewerId)
{
    /// <summary>Opened without a viewer id: it leaves the count at once, with no departure grace.</summary>
    public bool IsAnonymous => ViewerId == OwnViewerId(ConnectionId);

    /// <summary>The viewer id of a connection opened without one.</summary>
    public static string OwnViewerId(Guid connectionId) => connectionId.ToString("N");
}

/// <summary>
/// One front end's counted connections in a room, in a few bytes: how many, and the XOR of a hash of
/// each id. Front end and grain both keep one; when they are equal, the grain holds exactly the
/// front end's connections (but for a 2^-64 chance) and one renewal confirms them all without a list.
/// </summary>
[GenerateSerializer, Immutable, Alias("presence.membership")]
public readonly record struct Membership(
    [property: Id(0)] int Count,
    [property: Id(1)] ulong Fingerprint)
{
    public Membership With(Guid connectionId) => new(Count + 1, Fingerprint ^ Hash(connectionId));

    public Membership Without(Guid connectionId) => new(Count - 1, Fingerprint ^ Hash(connectionId));

    private static ulong Hash(Guid connectionId)
    {
        Span<byte> bytes = stackalloc byte[16];
        connectionId.TryWriteBytes(bytes);
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes) ^ BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
    }
}
