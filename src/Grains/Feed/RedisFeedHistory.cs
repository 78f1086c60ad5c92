using System.Collections.Immutable;
using System.Globalization;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Presence.Grains.Interfaces;
using StackExchange.Redis;

namespace Presence.Grains.Feed;

/// <summary>
/// Cluster mode: each room's history is a Redis stream (<c>{ServiceId}/feed/{room}</c>) whose entry
/// ids are the event ids (<c>n-0</c>). A publish is one <c>XADD ... MAXLEN</c>, whatever is kept
/// already; Redis itself refuses an id that is not above the stream's last, so two activations of
/// a room that briefly overlap (a silo declared dead too early) can never number two events alike.
/// </summary>
public sealed class RedisFeedHistory(IConnectionMultiplexer redis, IOptions<ClusterOptions> cluster) : IFeedHistory
{
    private static readonly RedisValue TypeField = "type";
    private static readonly RedisValue DataField = "data";
    private static readonly RedisValue PublishedAtField = "at";

    private readonly string _keyPrefix = $"{cluster.Value.ServiceId}/feed/";

    public async Task<long> GetLastIdAsync(string room)
    {
        var newest = await Guarded(Database.StreamRangeAsync(Key(room), "-", "+", count: 1, messageOrder: Order.Descending));
        return newest.Length == 0 ? 0 : EventId(newest[0].Id);
    }

    public Task AppendAsync(FeedEvent feedEvent, int keep)
    {
        NameValueEntry type = new(TypeField, feedEvent.Type), data = new(DataField, feedEvent.Data);
        NameValueEntry[] fields = feedEvent.PublishedAt is { } publishedAt
            ? [type, data, new(PublishedAtField, publishedAt.ToUnixTimeMilliseconds())]
            : [type, data];
        return Guarded(Database.StreamAddAsync(Key(feedEvent.Room), fields, messageId: EntryId(feedEvent.Id), maxLength: keep));
    }

    public async Task<ImmutableArray<FeedEvent>> GetAfterAsync(string room, long afterId)
    {
        var entries = await Guarded(Database.StreamRangeAsync(Key(room), EntryId(afterId + 1), "+"));
        return [.. entries.Select(entry => new FeedEvent(room, EventId(entry.Id), entry[TypeField]!, (byte[])entry[DataField]!)
        {
            // Absent from events stored before it was recorded.
            PublishedAt = entry[PublishedAtField].TryParse(out long at) ? DateTimeOffset.FromUnixTimeMilliseconds(at) : null,
        })];
    }

    /// <summary>
    /// Grain-call failures are translated by <see cref="StorageFailureFilter"/>, but a feed grain's
    /// activation (which reads the last id) fails outside any call filter. Whatever a Redis command
    /// fails with is the storage's failure: besides its own exception types, StackExchange.Redis
    /// has been seen to throw the InvalidOperationException of its connection's pipe when Redis
    /// stopped answering (a 500 in the Redis-outage cluster test).
    /// </summary>
    private static async Task<T> Guarded<T>(Task<T> operation)
    {
        try
        {
            return await operation;
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            throw StorageFailureFilter.Unavailable(exception);
        }
    }

    private IDatabase Database => redis.GetDatabase();

    private RedisKey Key(string room) => _keyPrefix + room;

    private static string EntryId(long eventId) => $"{eventId.ToString(CultureInfo.InvariantCulture)}-0";

    private static long EventId(RedisValue entryId)
    {
        var id = (string)entryId!;
        return long.Parse(id.AsSpan(0, id.IndexOf('-')), NumberStyles.None, CultureInfo.InvariantCulture);
    }
}
