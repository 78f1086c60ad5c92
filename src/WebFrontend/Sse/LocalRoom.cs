using System.Collections.Concurrent;
using System.Collections.Immutable;
using Orleans.Streams;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Observability;
using Presence.WebFrontend.Presence;

namespace Presence.WebFrontend.Sse;

/// <summary>
/// This front end's part of a room: its local connections and ONE subscription to each of the
/// room's streams, however many connections there are. Each event is encoded once and the same
/// bytes are posted to every connection.
/// </summary>
internal sealed partial class LocalRoom
{
    private const int PostsBetweenYields = 16;

    private readonly IClusterClient _client;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Guid, Attached> _connections = new();
    private readonly Lazy<Task> _subscribed;
    private readonly Lock _gate = new();
    private readonly RoomFeed _feed;
    private readonly PresenceMetrics _metrics;
    private StreamSubscriptionHandle<PresenceChanged>? _presenceSubscription;
    private StreamSubscriptionHandle<FeedEvent>? _feedSubscription;
    private long _latestVersion;
    private long _versionAtLastRenewal;
    private long _versionFromStream;
    private long _feedIdAtLastRenewal;
    private long _feedIdFromStream;
    private long _attachedCount;
    private bool _closed;

    public LocalRoom(string name, IClusterClient client, string frontEnd, PresenceMetrics metrics, ILogger logger)
    {
        Name = name;
        _client = client;
        _metrics = metrics;
        _logger = logger;
        _subscribed = new Lazy<Task>(() => SubscribeAsync(resubscribing: false));
        _feed = new RoomFeed(name, client.GetGrain<IFeedGrain>(name), frame => PostToAllAsync(frame, isFeedEvent: true), logger);
        Joiner = new RoomJoiner(client.GetGrain<IPresenceGrain>(name), frontEnd);
    }

    public string Name { get; }

    /// <summary>Counts this front end's new connections in the room, in batches.</summary>
    public RoomJoiner Joiner { get; }

    /// <summary>Completes once both stream subscriptions are in place.</summary>
    public Task Subscribed => _subscribed.Value;

    /// <summary>
    /// The local connections, enumerated live (<c>ConcurrentDictionary.Values</c> would lock the
    /// whole dictionary and copy it on every event).
    /// </summary>
    public IEnumerable<SseConnection> Connections => _connections.Select(entry => entry.Value.Connection);

    /// <summary>The connections whose keep-alive and shutdown this room sees to: a multiplexed connection is in several rooms, and listed by its first only.</summary>
    public IEnumerable<SseConnection> ListedConnections => Connections.Where(connection => connection.IsListedIn(Name));

    /// <summary>False when the room was closed meanwhile: attach to a new one.</summary>
    public bool TryAdd(SseConnection connection)
    {
        lock (_gate)
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
    /// Closes the room if it has no connection left (and is not still subscribing for its first);
    /// then nothing can join it any more.
    /// </summary>
    public bool TryClose()
    {
        lock (_gate)
        {
            _closed = _connections.IsEmpty && Subscribed.IsCompletedSuccessfully;
            return _closed;
        }
    }

    /// <summary>The connections the presence grain has admitted, as it should hold them for this front end.</summary>
    public Membership JoinedMembership()
    {
        var membership = default(Membership);
        foreach (var (id, (connection, _)) in _connections)
        {
            if (connection.Joined)
            {
                membership = membership.With(id);
            }
        }
        return membership;
    }

    public ImmutableArray<Member> JoinedMembers() =>
        [.. Connections.Where(connection => connection.Joined).Select(connection => connection.Member)];

    /// <summary>Posts counts newer than any this room has seen to every local connection.</summary>
    public async Task ObserveAsync(PresenceChanged change)
    {
        lock (_gate)
        {
            if (change.Version <= _latestVersion)
            {
                return;
            }
            _latestVersion = change.Version;
        }
        await PostToAllAsync(await SseFrame.PresenceAsync(change), isFeedEvent: false);
    }

    /// <summary>
    /// Called with each renewal's reply and the room's last feed id (if it could be read). Counts
    /// newer than any seen are posted, and feed events the room had at the previous renewal and
    /// this front end has not delivered are read from the feed grain (an event still on its way
    /// through the stream gets a renewal period's grace). If a stream has not delivered, by this
    /// renewal, what the grains had already published at the previous one, its subscription was
    /// lost silently (it happens when a silo dies): subscribe again.
    /// </summary>
    public async Task CheckSubscriptionAsync(PresenceChanged renewed, long? lastFeedId)
    {
        bool stale;
        long feedIdAtPreviousRenewal;
        lock (_gate)
        {
            stale = _versionFromStream < _versionAtLastRenewal || _feedIdFromStream < _feedIdAtLastRenewal;
            _versionAtLastRenewal = renewed.Version;
            feedIdAtPreviousRenewal = _feedIdAtLastRenewal;
            _feedIdAtLastRenewal = lastFeedId ?? _feedIdAtLastRenewal;
        }
        await ObserveAsync(renewed);
        _feed.CatchUpTo(feedIdAtPreviousRenewal);
        if (stale)
        {
            LogResubscribing(Name);
            await UnsubscribeAsync();
            await SubscribeAsync(resubscribing: true);
        }
    }

    /// <summary>Unsubscribes and stops delivering: the room has no local connection left.</summary>
    public async Task CloseAsync()
    {
        await UnsubscribeAsync();
        _feed.Stop();
    }

    /// <summary>
    /// Subscribes (retried through a silo failure), then takes the grains' snapshot and last feed
    /// id: whatever they had published by then is covered by the snapshot (and, subscribing again,
    /// read from the feed grain), and whatever they publish later comes through the streams.
    /// </summary>
    private async Task SubscribeAsync(bool resubscribing)
    {
        var (snapshot, lastFeedId) = await ClusterCalls.Retry.ExecuteAsync(async _ =>
        {
            try
            {
                var streams = _client.GetStreamProvider(RoomStreams.ProviderName);
                _presenceSubscription = await streams.GetStream<PresenceChanged>(RoomStreams.Presence(Name))
                    .SubscribeAsync(OnPresenceAsync);
                _feedSubscription = await streams.GetStream<FeedEvent>(RoomStreams.Feed(Name))
                    .SubscribeAsync(OnFeedAsync);
                var lastFeedId = _client.GetGrain<IFeedGrain>(Name).GetLastIdAsync();
                return (await _client.GetGrain<IPresenceGrain>(Name).GetAsync(), await lastFeedId);
            }
            catch
            {
                await UnsubscribeAsync();
                throw;
            }
        });
        lock (_gate)
        {
            _versionFromStream = Math.Max(_versionFromStream, snapshot.Version);
            _versionAtLastRenewal = snapshot.Version;
            _feedIdFromStream = Math.Max(_feedIdFromStream, lastFeedId);
            _feedIdAtLastRenewal = lastFeedId;
        }
        await ObserveAsync(snapshot);
        if (resubscribing)
        {
            _feed.CatchUpTo(lastFeedId);
        }
        else
        {
            _feed.Start(lastFeedId);
        }
    }

    /// <summary>
    /// Best effort: a subscription that cannot be removed (its silo is gone) no longer reaches this
    /// room, since Orleans drops the local observer first.
    /// </summary>
    public async Task UnsubscribeAsync()
    {
        await UnsubscribeAsync(_presenceSubscription);
        await UnsubscribeAsync(_feedSubscription);
        (_presenceSubscription, _feedSubscription) = (null, null);
    }

    private async Task UnsubscribeAsync<T>(StreamSubscriptionHandle<T>? subscription)
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

    private async Task OnPresenceAsync(PresenceChanged change, StreamSequenceToken? token)
    {
        lock (_gate)
        {
            _versionFromStream = Math.Max(_versionFromStream, change.Version);
        }
        await ObserveAsync(change);
    }

    private Task OnFeedAsync(FeedEvent feedEvent, StreamSequenceToken? token)
    {
        lock (_gate)
        {
            _feedIdFromStream = Math.Max(_feedIdFromStream, feedEvent.Id);
        }
        _feed.Received(feedEvent);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Posts to the connections attached when the fan-out began: one that attaches meanwhile opened
    /// after the event was already going out (and reaching others), so it is not live for it.
    /// Single-room connections all get the same bytes; the first multiplexed one has the feed
    /// frame's multiplexed body encoded, once, and every other multiplexed one shares it.
    /// Every <see cref="PostsBetweenYields"/> posts the fan-out lets the socket sends it queued run:
    /// each write holds a 4 KB block of Kestrel's memory pool until its send completes, and a pool
    /// that once held a block for every connection of a room keeps them (it shrinks by about 1% per
    /// 10 s). The deliveries are counted once per fan-out, not per connection.
    /// </summary>
    private async Task PostToAllAsync(SseFrame frame, bool isFeedEvent)
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
    }

    /// <summary>A local connection and its place in the order connections attached to this room.</summary>
    private readonly record struct Attached(SseConnection Connection, long Order);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Room {Room}: a stream fell behind the grains; subscribing again")]
    private partial void LogResubscribing(string room);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Room {Room}: the old stream subscriptions could not be removed")]
    private partial void LogUnsubscribeFailed(Exception exception, string room);
}
