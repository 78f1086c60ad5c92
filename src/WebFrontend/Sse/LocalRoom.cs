using System.Collections.Concurrent;
using System.Collections.Immutable;
using Orleans.Streams;
using Presence.Grains.Interfaces;

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
    private StreamSubscriptionHandle<PresenceChanged>? _presenceSubscription;
    private StreamSubscriptionHandle<FeedEvent>? _feedSubscription;
    private long _latestVersion;
    private long _versionAtLastRenewal;
    private long _versionFromStream;
    private long _attachedCount;
    private bool _closed;

    public LocalRoom(string name, IClusterClient client, ILogger logger)
    {
        Name = name;
        _client = client;
        _logger = logger;
        _subscribed = new Lazy<Task>(SubscribeAsync);
    }

    public string Name { get; }

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
    /// Called with each renewal's reply. If the stream has not delivered, by this renewal, a version
    /// the grain had already published at the previous one, the subscription was lost silently (it
    /// happens when a silo dies): subscribe again.
    /// </summary>
    public async Task CheckSubscriptionAsync(PresenceChanged renewed)
    {
        bool stale;
        lock (_gate)
        {
            stale = _versionFromStream < _versionAtLastRenewal;
            _versionAtLastRenewal = renewed.Version;
        }
        await ObserveAsync(renewed);
        if (stale)
        {
            LogResubscribing(Name);
            await UnsubscribeAsync();
            await SubscribeAsync();
        }
    }

    public async Task UnsubscribeAsync()
    {
        if (_presenceSubscription is { } presence)
        {
            await presence.UnsubscribeAsync();
        }
        if (_feedSubscription is { } feed)
        {
            await feed.UnsubscribeAsync();
        }
    }

    /// <summary>
    /// Subscribes, then takes the grain's snapshot: whatever it had published by then is covered by
    /// the snapshot, and whatever it publishes later must come through the stream.
    /// </summary>
    private async Task SubscribeAsync()
    {
        var streams = _client.GetStreamProvider(RoomStreams.ProviderName);
        _presenceSubscription = await streams.GetStream<PresenceChanged>(RoomStreams.Presence(Name))
            .SubscribeAsync(OnPresenceAsync);
        _feedSubscription = await streams.GetStream<FeedEvent>(RoomStreams.Feed(Name))
            .SubscribeAsync(OnFeedAsync);

        var snapshot = await _client.GetGrain<IPresenceGrain>(Name).GetAsync();
        lock (_gate)
        {
            _versionFromStream = Math.Max(_versionFromStream, snapshot.Version);
            _versionAtLastRenewal = snapshot.Version;
        }
        await ObserveAsync(snapshot);
    }

    private async Task OnPresenceAsync(PresenceChanged change, StreamSequenceToken? token)
    {
        lock (_gate)
        {
            _versionFromStream = Math.Max(_versionFromStream, change.Version);
        }
        await ObserveAsync(change);
    }

    private async Task OnFeedAsync(FeedEvent feedEvent, StreamSequenceToken? token) =>
        PostToAll(await SseFrame.FeedAsync(feedEvent), isFeedEvent: true);

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Room {Room}: the presence stream fell behind the grain; subscribing again")]
    private partial void LogResubscribing(string room);
}
