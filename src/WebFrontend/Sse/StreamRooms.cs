using System.Buffers;
using System.Buffers.Text;
using System.Collections.Immutable;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;

namespace Presence.WebFrontend.Sse;

/// <summary>
/// The rooms of a multiplexed connection (<c>GET /events?rooms=a,b,c</c>) and its place in each:
/// what a single-room <see cref="SseConnection"/> keeps once, kept per room (its slot). Each feed
/// frame goes out as <c>id: a=12,b=7,c=0</c>, the stream's position in every room in the order the
/// client listed them, before the body the room encoded once for all multiplexed connections.
/// Used under the connection's lock.
/// </summary>
internal sealed class StreamRooms(ImmutableArray<string> names)
{
    public const int MaxRooms = 20;

    private static readonly byte[] IdField = "id: "u8.ToArray();

    private readonly long[] _lastFeedIds = new long[names.Length];
    private readonly long[] _lastPresenceVersions = new long[names.Length];
    private readonly SseFrame?[] _presence = new SseFrame?[names.Length];
    private readonly int _idLength = IdField.Length + names.Sum(name => name.Length + 2 + 19) + 1;

    public ImmutableArray<string> Names { get; } = names;

    /// <summary>The rooms of the feed frames waiting in the connection's queue, in the same order.</summary>
    public Queue<int> PendingSlots { get; } = new();

    public int SlotOf(string room) => Names.IndexOf(room, StringComparer.Ordinal);

    /// <summary>
    /// The positions a <c>Last-Event-ID</c> gives, per slot: <c>room=id</c> pairs split by commas;
    /// a room left out, or a pair that does not parse, has none (no replay for it).
    /// </summary>
    public static long?[] ParsePositions(ImmutableArray<string> rooms, string? lastEventId)
    {
        var positions = new long?[rooms.Length];
        foreach (var pair in (lastEventId ?? "").Split(','))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && rooms.IndexOf(pair[..equals], StringComparer.Ordinal) is var slot and >= 0 && positions[slot] is null
                && long.TryParse(pair.AsSpan(equals + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                positions[slot] = id;
            }
        }
        return positions;
    }

    public void SkipFeedEventsThrough(int slot, long id) => _lastFeedIds[slot] = Math.Max(_lastFeedIds[slot], id);

    /// <summary>Keeps only the latest counts of each room while the client is behind.</summary>
    public void KeepLatestPresence(int slot, SseFrame frame)
    {
        if (_presence[slot] is not { } pending || frame.Position > pending.Position)
        {
            _presence[slot] = frame;
        }
    }

    /// <summary>Writes each room's waiting counts; false if there were none to write.</summary>
    public bool WritePendingPresence(PipeWriter writer)
    {
        var wrote = false;
        for (var slot = 0; slot < _presence.Length; slot++)
        {
            if (_presence[slot] is { } frame)
            {
                wrote |= Write(writer, frame, isFeedEvent: false, slot);
                _presence[slot] = null;
            }
        }
        return wrote;
    }

    /// <summary>Skips what the connection has had in the frame's room; a feed frame moves the room's position and carries all positions.</summary>
    public bool Write(PipeWriter writer, SseFrame frame, bool isFeedEvent, int slot)
    {
        ref var last = ref isFeedEvent ? ref _lastFeedIds[slot] : ref _lastPresenceVersions[slot];
        if (frame.Position <= last)
        {
            return false;
        }
        last = frame.Position;
        if (isFeedEvent)
        {
            WriteId(writer);
            writer.Write(frame.MultiplexedBody.Span);
        }
        else
        {
            writer.Write(frame.Utf8.Span);
        }
        return true;
    }

    /// <summary><c>id: a=12,b=7,c=0</c> and a line end (room names are ASCII, without <c>=</c> or <c>,</c>).</summary>
    public void WriteId(PipeWriter writer)
    {
        var span = writer.GetSpan(_idLength);
        IdField.CopyTo(span);
        var length = IdField.Length;
        for (var slot = 0; slot < Names.Length; slot++)
        {
            if (slot > 0)
            {
                span[length++] = (byte)',';
            }
            length += Encoding.ASCII.GetBytes(Names[slot], span[length..]);
            span[length++] = (byte)'=';
            Utf8Formatter.TryFormat(_lastFeedIds[slot], span[length..], out var written);
            length += written;
        }
        span[length++] = (byte)'\n';
        writer.Advance(length);
    }
}
