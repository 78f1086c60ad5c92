using System.Collections.Concurrent;
using Orleans.Streams;
using Presence.WebFrontend.Observability;

namespace Presence.WebFrontend.Sse;

/// <summary>
/// What this front end holds of one thing watched live (a room, a group): its local connections
/// and ONE subscription to its streams, however many connections there are. Each event is encoded
/// once and the same bytes are posted to every connection.
/// </summary>
internal abstract partial class LocalFanOut
{
    private const int PostsBetweenYields = 16;

    private readonly ConcurrentDictionary<Guid, Attached> _connections = new();
    private readonly Lazy<Task> _subscribed;
    private readonly PresenceMetrics _metrics;
    private readonly CountPacing _pacing;
    private readonly ILogger _logger;
    private long _latestVersion;
    private long _attachedCount;
    private bool _closed;
    private SseFrame? _nextCounts;
    private bool _postingCounts;

    protected LocalFanOut(string name, PresenceMetrics metrics, CountPacing pacing, ILogger logger)
    {
        Name = name;
        _metrics = metrics;
        _pacing = pacing;
        _logger = logger;
        _subscribed = new Lazy<Task>(() => SubscribeAsync(resubscribing: false));
    }

    public string Name { get; }

    /// <summary>Guards the state of the fan-out and of the class that extends it.</summary>
    protected Lock Gate { get; } = new();

    /// <summary>Completes once the stream subscriptions are in place.</summary>
    public Task Subscribed => _subscribed.Value;

    /// <summary>
    /// The local connections, enumerated live (<c>ConcurrentDictionary.Values</c> would lock the
    /// whole dictionary and copy it on every event).
    /// </summary>
    public IEnumerable<SseConnection> Connections => _connections.Select(entry => entry.Value.Connection);

    /// <summary>False when it was closed meanwhile: attach to a new one.</summary>
    public bool TryAdd(SseConnection connection)
    {
        lock (Gate)
        {
            if (_closed)
            {
                return false;
            }
            _connections[connection.Id] = new Attached(connection, Interlocked.Increment(ref _attachedCount));
            return true;
        }
    }

    public void Remove(SseConnection connection) => _connections.TryRemove(connection.Id, out _);

    /// <summary>
    /// Closes it if it has no connection left (and is not still subscribing for its first); then
    /// nothing can join it any more.
    /// </summary>
    public bool TryClose()
    {
        lock (Gate)
        {
            _closed = _connections.IsEmpty && Subscribed.IsCompletedSuccessfully;
            return _closed;
        }
    }

    /// <summary>Unsubscribes and stops delivering: no local connection is left.</summary>
    public abstract Task CloseAsync();

    /// <summary>Subscribes to the streams, then posts the grain's snapshot.</summary>
    protected abstract Task SubscribeAsync(bool resubscribing);

    /// <summary>
    /// Posts counts newer than any posted before (by <paramref name="version"/>) to every local
    /// connection, encoded once. The posting runs apart from the caller (a stream delivery, a
    /// renewal), one pass over the connections at a time, each paid for to the front end's
    /// <see cref="CountPacing"/> before the next: counts that come meanwhile collapse to the newest,
    /// which goes out next. A front end with time to spare posts each count at once; one that is
    /// busy (a join storm over many rooms) posts fewer, and always the newest, instead of working
    /// through a backlog of stale ones while connections wait to be admitted.
    /// </summary>
    protected async Task PostNewerAsync<T>(T change, long version, Func<T, Task<SseFrame>> encode)
    {
        lock (Gate)
        {
            if (version <= _latestVersion)
            {
                return;
            }
            _latestVersion = version;
        }
        var frame = await encode(change);
        lock (Gate)
        {
            if (frame.Position < _latestVersion)
            {
                return; // a newer one came while this one was encoded
            }
            _nextCounts = frame;
            if (_postingCounts)
            {
                return;
            }
            _postingCounts = true;
        }
        _ = PostCountsAsync();
    }

    private async Task PostCountsAsync()
    {
        while (true)
        {
            SseFrame frame;
            lock (Gate)
            {
                if (_nextCounts is null)
                {
                    _postingCounts = false;
                    return;
                }
                (frame, _nextCounts) = (_nextCounts, null);
            }
            await _pacing.PayAsync(await PostToAllAsync(frame, isFeedEvent: false));
        }
    }

    /// <summary>
    /// Posts to the connections attached when the fan-out began: one that attaches meanwhile opened
    /// after the event was already going out (and reaching others), so it is not live for it.
    /// Every <see cref="PostsBetweenYields"/> posts the fan-out lets the socket sends it queued run:
    /// each write holds a 4 KB block of Kestrel's memory pool until its send completes, and a pool
    /// that once held a block for every connection of a room keeps them (it shrinks by about 1% per
    /// 10 s). The deliveries are counted once per fan-out, not per connection. Single-room
    /// connections all get the same bytes; the first multiplexed one has the feed frame's
    /// multiplexed body encoded, once, and every other multiplexed one shares it.
    /// </summary>
    /// <returns>How many connections it posted to.</returns>
    protected async Task<int> PostToAllAsync(SseFrame frame, bool isFeedEvent)
    {
        var attachedBefore = Interlocked.Read(ref _attachedCount);
        var posted = 0;
        foreach (var (_, (connection, order)) in _connections)
        {
            if (order <= attachedBefore)
            {
                if (isFeedEvent && connection.Multiplexed)
                {
                    await frame.PrepareMultiplexedAsync(Name);
                }
                connection.Post(frame, isFeedEvent, Name);
                if (++posted % PostsBetweenYields == 0)
                {
                    await Task.Yield();
                }
            }
        }
        _metrics.Delivered(isFeedEvent, posted);
        if (frame.PublishedAt is { } publishedAt && posted > 0)
        {
            _metrics.FeedEventDelivered(publishedAt);
        }
        return posted;
    }

    /// <summary>
    /// Best effort: a subscription that cannot be removed (its silo is gone) no longer reaches this
    /// front end, since Orleans drops the local observer first.
    /// </summary>
    protected async Task UnsubscribeAsync<T>(StreamSubscriptionHandle<T>? subscription)
    {
        try
        {
            if (subscription is not null)
            {
                await subscription.UnsubscribeAsync();
            }
        }
        catch (Exception exception)
        {
            LogUnsubscribeFailed(exception, Name);
        }
    }

    /// <summary>A local connection and its place in the order connections attached.</summary>
    private readonly record struct Attached(SseConnection Connection, long Order);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Name}: the old stream subscriptions could not be removed")]
    private partial void LogUnsubscribeFailed(Exception exception, string name);
}

/// <summary>
/// Whether a stream subscription still delivers: what the stream delivered (versions, feed ids) is
/// held against what the grain had at the previous check. Used under the fan-out's lock.
/// </summary>
internal struct DeliveryCheck
{
    private long _fromStream;

    /// <summary>What the grain had at the last check.</summary>
    public long AtLastCheck { get; private set; }

    public void Delivered(long position) => _fromStream = Math.Max(_fromStream, position);

    /// <summary>Subscribed when the grain was at <paramref name="position"/>: the snapshot covers it.</summary>
    public void Subscribed(long position)
    {
        Delivered(position);
        AtLastCheck = position;
    }

    /// <summary>
    /// True if the stream has not delivered, by now, what the grain had at the previous check: it
    /// was lost silently. <paramref name="position"/>: what the grain has now, if it could be read.
    /// </summary>
    public bool FellBehind(long? position)
    {
        var behind = _fromStream < AtLastCheck;
        AtLastCheck = position ?? AtLastCheck;
        return behind;
    }
}
