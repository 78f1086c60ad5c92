using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend.Sse;

/// <summary>
/// One SSE frame, encoded once and written as is to every connection that gets it.
/// <see cref="Position"/> orders frames of one kind: the presence version, or the feed event id.
/// </summary>
internal sealed class SseFrame(long position, ReadOnlyMemory<byte> utf8, DateTimeOffset? publishedAt = null)
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

    public static ReadOnlyMemory<byte> Retry(int milliseconds) =>
        Encoding.UTF8.GetBytes($"retry: {milliseconds.ToString(CultureInfo.InvariantCulture)}\n\n");

    /// <summary>Counts carry no id, so a browser's Last-Event-ID stays the last feed id.</summary>
    public static Task<SseFrame> PresenceAsync(PresenceChanged change) =>
        EncodeAsync(change.Version, new SseItem<string>(JsonSerializer.Serialize(change, JsonSerializerOptions.Web), PresenceType));

    /// <summary>A group's sums; no id either.</summary>
    public static Task<SseFrame> GroupAsync(GroupChanged change) =>
        EncodeAsync(change.Version, new SseItem<string>(JsonSerializer.Serialize(change, JsonSerializerOptions.Web), GroupType));

    public static Task<SseFrame> FeedAsync(FeedEvent feedEvent) =>
        EncodeAsync(feedEvent.Id, new SseItem<string>(feedEvent.Data, feedEvent.Type)
        {
            EventId = feedEvent.Id.ToString(CultureInfo.InvariantCulture),
        }, feedEvent.PublishedAt);

    /// <summary>A connection's id and activity token, for that connection alone.</summary>
    public static Task<SseFrame> ConnectionAsync(Guid id, string token) =>
        EncodeAsync(0, new SseItem<string>(JsonSerializer.Serialize(new { id = id.ToString("N"), token }, JsonSerializerOptions.Web), ConnectionType));

    public static Task<SseFrame> GapAsync(FeedGap gap) =>
        EncodeAsync(gap.To, new SseItem<string>(JsonSerializer.Serialize(gap, JsonSerializerOptions.Web), GapType));

    private static async Task<SseFrame> EncodeAsync(long position, SseItem<string> item, DateTimeOffset? publishedAt = null)
    {
        using var buffer = new MemoryStream();
        await SseFormatter.WriteAsync(new[] { item }.ToAsyncEnumerable(), buffer);
        return new SseFrame(position, buffer.ToArray(), publishedAt);
    }
}
