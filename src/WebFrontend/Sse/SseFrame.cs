using System.Buffers;
using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend.Sse;

/// <summary>
/// One SSE frame, encoded once and written as is to every connection that gets it.
/// <see cref="Position"/> orders frames of one kind: the presence version, or the feed event id.
/// A feed or gap frame also has a body for multiplexed streams (<c>GET /events?rooms=</c>), encoded
/// the first time one of them gets the frame; each writes its own <c>id:</c> line before it.
/// </summary>
internal sealed class SseFrame(long position, ReadOnlyMemory<byte> utf8, DateTimeOffset? publishedAt = null, object? source = null)
{
    public const string PresenceType = "presence";
    public const string GapType = "gap";
    public const string ConnectionType = "connection";
    public const string GroupType = "group";

    public static ReadOnlyMemory<byte> KeepAlive { get; } = ": keep-alive\n\n"u8.ToArray();

    public long Position { get; } = position;

    public ReadOnlyMemory<byte> Utf8 { get; } = utf8;

    /// <summary>A feed event's publish time (the feed grain's clock), for the publish-to-delivery latency.</summary>
    public DateTimeOffset? PublishedAt { get; } = publishedAt;

    /// <summary>
    /// A feed event as a multiplexed stream writes it after its <c>id:</c> line: <c>event: &lt;type&gt;</c>,
    /// data <c>{"room","id","data"}</c>; a gap as <c>{"room","from","to"}</c>. Empty until
    /// <see cref="PrepareMultiplexedAsync"/>; presence frames are written as they are.
    /// </summary>
    public ReadOnlyMemory<byte> MultiplexedBody { get; private set; }

    public static ReadOnlyMemory<byte> Retry(int milliseconds) =>
        Encoding.UTF8.GetBytes($"retry: {milliseconds.ToString(CultureInfo.InvariantCulture)}\n\n");

    /// <summary>Counts carry no id, so a browser's Last-Event-ID stays the last feed id.</summary>
    public static Task<SseFrame> PresenceAsync(PresenceChanged change) =>
        EncodeAsync(change.Version, new SseItem<ReadOnlyMemory<byte>>(Json(change), PresenceType));

    /// <summary>A group's sums; no id either.</summary>
    public static Task<SseFrame> GroupAsync(GroupChanged change) =>
        EncodeAsync(change.Version, new SseItem<ReadOnlyMemory<byte>>(Json(change), GroupType));

    public static Task<SseFrame> FeedAsync(FeedEvent feedEvent) =>
        EncodeAsync(feedEvent.Id, new SseItem<ReadOnlyMemory<byte>>(feedEvent.Data, feedEvent.Type)
        {
            EventId = feedEvent.Id.ToString(CultureInfo.InvariantCulture),
        }, feedEvent.PublishedAt, feedEvent);

    /// <summary>A connection's id and activity token, for that connection alone.</summary>
    public static Task<SseFrame> ConnectionAsync(Guid id, string token) =>
        EncodeAsync(0, new SseItem<ReadOnlyMemory<byte>>(Json(new { id = id.ToString("N"), token }), ConnectionType));

    public static Task<SseFrame> GapAsync(FeedGap gap) =>
        EncodeAsync(gap.To, new SseItem<ReadOnlyMemory<byte>>(Json(gap), GapType), source: gap);

    /// <summary>Encodes <see cref="MultiplexedBody"/> once (a feed or gap frame of <paramref name="room"/>); completes at once when done already.</summary>
    public ValueTask PrepareMultiplexedAsync(string room) =>
        MultiplexedBody.IsEmpty ? EncodeMultiplexedAsync(room) : ValueTask.CompletedTask;

    private async ValueTask EncodeMultiplexedAsync(string room)
    {
        var item = source switch
        {
            FeedEvent feedEvent => new SseItem<ReadOnlyMemory<byte>>(MultiplexedEventData(room, feedEvent), feedEvent.Type),
            FeedGap gap => new SseItem<ReadOnlyMemory<byte>>(Json(new MultiplexedGap(room, gap.From, gap.To)), GapType),
            _ => throw new InvalidOperationException("Only feed and gap frames have a multiplexed body."),
        };
        MultiplexedBody = await EncodeAsync(item);
    }

    /// <summary><c>{"room","id","data"}</c>, the id a string as in the publish answer, the data the event's JSON as published.</summary>
    private static ReadOnlyMemory<byte> MultiplexedEventData(string room, FeedEvent feedEvent)
    {
        var buffer = new ArrayBufferWriter<byte>(feedEvent.Data.Length + room.Length + 48);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("room", room);
            json.WriteString("id", feedEvent.Id.ToString(CultureInfo.InvariantCulture));
            json.WritePropertyName("data");
            json.WriteRawValue(feedEvent.Data.Span, skipInputValidation: true);
            json.WriteEndObject();
        }
        return buffer.WrittenMemory;
    }

    private static byte[] Json<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, JsonSerializerOptions.Web);

    private static async Task<SseFrame> EncodeAsync(long position, SseItem<ReadOnlyMemory<byte>> item, DateTimeOffset? publishedAt = null, object? source = null) =>
        new(position, await EncodeAsync(item), publishedAt, source);

    /// <summary>The frame's bytes: the data is UTF-8 JSON already, without line breaks.</summary>
    private static async Task<byte[]> EncodeAsync(SseItem<ReadOnlyMemory<byte>> item)
    {
        using var buffer = new MemoryStream(item.Data.Length + 64);
        await SseFormatter.WriteAsync(new[] { item }.ToAsyncEnumerable(), buffer, static (item, writer) => writer.Write(item.Data.Span));
        return buffer.ToArray();
    }

    private sealed record MultiplexedGap(string Room, long From, long To);
}
