using System.Collections.Concurrent;
using System.Collections.Immutable;
using Orleans.Streams;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Presence;

namespace Presence.WebFrontend.Sse;

/// <summary>
/// This front end's part of a room: its local connections and ONE subscription to each of the
/// room's streams, however many connections there are. Each event is encoded once and the same
/// bytes are posted to every connection.
/// </summary>
internal sealed partial class LocalRoom
{
    private readonly IClusterClient _client;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<Guid, Attached> _connections = new();
    private readonly Lazy<Task> _subscribed;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _feedGate = new(1, 1);
    private StreamSubscriptionHandle<PresenceChanged>? _presenceSubscription;
    private StreamSubscriptionHandle<FeedEvent>? _feedSubscription;
    private long _latestVersion;
    private long _versionAtLastRenewal;
    private long _versionFromStream;
    private long _deliveredFeedId;
    private long _feedIdAtLastRenewal;
    private long _feedIdFromStream;
    private long _attachedCount;
    private bool _closed;

    public LocalRoom(string name, IClusterClient client, string frontEnd, ILogger logger)
    {
        Name = name;
        _client = client;
        _logger = logger;
        _subscribed = new Lazy<Task>(() => SubscribeAsync(resubscribing: false));
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

    /// <summary>Closes the room if it has no connection left; then nothing can join it any more.</summary>
    public bool TryClose()
    {
        lock (_gate)
        {
            _closed = _connections.IsEmpty;
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
        PostToAll(await SseFrame.PresenceAsync(change), isFeedEvent: false);
    }

    /// <summary>
    /// Called with each renewal's reply and the room's last feed id (if it could be read). Counts newer than any seen are
    /// posted and missed feed events are read from the feed grain. If a stream has not delivered, by
    /// this renewal, what the grains had already published at the previous one, its subscription was
    /// lost silently (it happens when a silo dies): subscribe again.
    /// </summary>
    public async Task CheckSubscriptionAsync(PresenceChanged renewed, long? lastFeedId)
    {
        bool stale;
        lock (_gate)
        {
            stale = _versionFromStream < _versionAtLastRenewal || _feedIdFromStream < _feedIdAtLastRenewal;
            _versionAtLastRenewal = renewed.Version;
            _feedIdAtLastRenewal = lastFeedId ?? _feedIdAtLastRenewal;
        }
        await ObserveAsync(renewed);
        if (lastFeedId is { } last)
        {
            await CatchUpAsync(last);
        }
        if (stale)
        {
            LogResubscribing(Name);
            try
            {
                await UnsubscribeAsync();
            }
            catch (Exception exception)
            {
                // The old subscription is gone or unreachable; should it still deliver, the
                // room drops what it has already delivered.
                LogUnsubscribeFailed(exception, Name);
            }
            await SubscribeAsync(resubscribing: true);
        }
    }

    public async Task UnsubscribeAsync()
    {
        var (presence, feed) = (_presenceSubscription, _feedSubscription);
        (_presenceSubscription, _feedSubscription) = (null, null);
        if (presence is not null)
        {
            await presence.UnsubscribeAsync();
        }
        if (feed is not null)
        {
            await feed.UnsubscribeAsync();
        }
    }

    /// <summary>
    /// Subscribes, then takes the grains' snapshot and last feed id: whatever they had published by
    /// then is covered by the snapshot (and, subscribing again, read from the feed grain), and
    /// whatever they publish later comes through the streams. Feed events wait until this is done.
    /// </summary>
    private async Task SubscribeAsync(bool resubscribing)
    {
        await _feedGate.WaitAsync();
        try
        {
            var streams = _client.GetStreamProvider(RoomStreams.ProviderName);
            _presenceSubscription = await streams.GetStream<PresenceChanged>(RoomStreams.Presence(Name))
                .SubscribeAsync(OnPresenceAsync);
            _feedSubscription = await streams.GetStream<FeedEvent>(RoomStreams.Feed(Name))
                .SubscribeAsync(OnFeedAsync);

            var lastFeedIdCall = _client.GetGrain<IFeedGrain>(Name).GetLastIdAsync();
            var snapshot = await _client.GetGrain<IPresenceGrain>(Name).GetAsync();
            var lastFeedId = await lastFeedIdCall;
            lock (_gate)
            {
                _versionFromStream = Math.Max(_versionFromStream, snapshot.Version);
                _versionAtLastRenewal = snapshot.Version;
                _feedIdFromStream = Math.Max(_feedIdFromStream, lastFeedId);
                _feedIdAtLastRenewal = lastFeedId;
            }
            await ObserveAsync(snapshot);
            if (!resubscribing)
            {
                _deliveredFeedId = lastFeedId;
            }
            else if (lastFeedId > _deliveredFeedId)
            {
                await CatchUpLockedAsync();
            }
        }
        finally
        {
            _feedGate.Release();
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

    /// <summary>
    /// Delivers the room's feed events in order and once: one the stream skipped ahead of (a lost
    /// event) is read from the feed grain first.
    /// </summary>
    private async Task OnFeedAsync(FeedEvent feedEvent, StreamSequenceToken? token)
    {
        await _feedGate.WaitAsync();
        try
        {
            lock (_gate)
            {
                _feedIdFromStream = Math.Max(_feedIdFromStream, feedEvent.Id);
            }
            if (feedEvent.Id == _deliveredFeedId + 1)
            {
                PostToAll(await SseFrame.FeedAsync(feedEvent), isFeedEvent: true);
                _deliveredFeedId = feedEvent.Id;
            }
            else if (feedEvent.Id > _deliveredFeedId)
            {
                await CatchUpLockedAsync();
            }
        }
        finally
        {
            _feedGate.Release();
        }
    }

    private async Task CatchUpAsync(long lastFeedId)
    {
        await _feedGate.WaitAsync();
        try
        {
            if (lastFeedId > _deliveredFeedId)
            {
                await CatchUpLockedAsync();
            }
        }
        finally
        {
            _feedGate.Release();
        }
    }

    /// <summary>Under the feed gate: delivers what the feed grain has after the last event delivered.</summary>
    private async Task CatchUpLockedAsync()
    {
        FeedReplay missed;
        try
        {
            missed = await _client.GetGrain<IFeedGrain>(Name).GetAfterAsync(_deliveredFeedId);
        }
        catch (Exception exception)
        {
            // Nothing after the hole is delivered meanwhile: the next event or renewal tries again.
            LogCatchUpFailed(exception, Name, _deliveredFeedId);
            return;
        }
        LogCatchingUp(Name, _deliveredFeedId, missed.LastId);
        if (missed.Gap is { } gap)
        {
            PostToAll(await SseFrame.GapAsync(gap), isFeedEvent: true);
            _deliveredFeedId = gap.To;
        }
        foreach (var feedEvent in missed.Events)
        {
            PostToAll(await SseFrame.FeedAsync(feedEvent), isFeedEvent: true);
            _deliveredFeedId = feedEvent.Id;
        }
    }

    /// <summary>
    /// Posts to the connections attached when the fan-out began: one that attaches meanwhile opened
    /// after the event was already going out (and reaching others), so it is not live for it.
    /// </summary>
    private void PostToAll(SseFrame frame, bool isFeedEvent)
    {
        var attachedBefore = Interlocked.Read(ref _attachedCount);
        foreach (var (_, (connection, order)) in _connections)
        {
            if (order <= attachedBefore)
            {
                connection.Post(frame, isFeedEvent);
            }
        }
    }

    /// <summary>A local connection and its place in the order connections attached to this room.</summary>
    private readonly record struct Attached(SseConnection Connection, long Order);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Room {Room}: a stream fell behind the grains; subscribing again")]
    private partial void LogResubscribing(string room);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Room {Room}: the old stream subscriptions could not be removed")]
    private partial void LogUnsubscribeFailed(Exception exception, string room);

    [LoggerMessage(Level = LogLevel.Information, Message = "Room {Room}: feed events after {After} (up to {Last}) did not come through the stream; reading them from the feed grain")]
    private partial void LogCatchingUp(string room, long after, long last);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Room {Room}: reading the feed events after {After} failed; the next event or renewal tries again")]
    private partial void LogCatchUpFailed(Exception exception, string room, long after);
}
