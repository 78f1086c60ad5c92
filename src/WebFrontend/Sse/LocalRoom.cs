using System.Collections.Immutable;
using Orleans.Streams;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Observability;
using Presence.WebFrontend.Presence;

namespace Presence.WebFrontend.Sse;

/// <summary>This front end's part of a room: its local connections and ONE subscription to each of the room's streams.</summary>
internal sealed partial class LocalRoom : LocalFanOut
{
    private readonly IClusterClient _client;
    private readonly ILogger _logger;
    private readonly RoomFeed _feed;
    private StreamSubscriptionHandle<PresenceChanged>? _presenceSubscription;
    private StreamSubscriptionHandle<FeedEvent>? _feedSubscription;
    private DeliveryCheck _versions;
    private DeliveryCheck _feedIds;

    public LocalRoom(string name, IClusterClient client, string frontEnd, PresenceMetrics metrics, CountPacing pacing, ILogger logger)
        : base(name, metrics, pacing, logger)
    {
        _client = client;
        _logger = logger;
        _feed = new RoomFeed(name, client.GetGrain<IFeedGrain>(name), frame => PostToAllAsync(frame, isFeedEvent: true), logger);
        Joiner = new RoomJoiner(client.GetGrain<IPresenceGrain>(name), frontEnd);
    }

    /// <summary>Counts this front end's new connections in the room, in batches.</summary>
    public RoomJoiner Joiner { get; }

    /// <summary>The connections the presence grain has admitted, as it should hold them for this front end.</summary>
    public Membership JoinedMembership()
    {
        var membership = default(Membership);
        foreach (var connection in Connections)
        {
            if (connection.Joined)
            {
                membership = membership.With(connection.Id);
            }
        }
        return membership;
    }

    public ImmutableArray<Member> JoinedMembers() =>
        [.. Connections.Where(connection => connection.Joined).Select(connection => connection.Member)];

    /// <summary>Posts counts newer than any this room has seen to every local connection.</summary>
    public Task ObserveAsync(PresenceChanged change) => PostNewerAsync(change, change.Version, SseFrame.PresenceAsync);

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
        lock (Gate)
        {
            feedIdAtPreviousRenewal = _feedIds.AtLastCheck;
            stale = _versions.FellBehind(renewed.Version) | _feedIds.FellBehind(lastFeedId);
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

    public override async Task CloseAsync()
    {
        await UnsubscribeAsync();
        _feed.Stop();
    }

    /// <summary>
    /// Subscribes (retried through a silo failure), then takes the grains' snapshot and last feed
    /// id: whatever they had published by then is covered by the snapshot (and, subscribing again,
    /// read from the feed grain), and whatever they publish later comes through the streams.
    /// </summary>
    protected override async Task SubscribeAsync(bool resubscribing)
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
        lock (Gate)
        {
            _versions.Subscribed(snapshot.Version);
            _feedIds.Subscribed(lastFeedId);
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

    /// <summary>Best effort (see <see cref="LocalFanOut.UnsubscribeAsync{T}"/>).</summary>
    public async Task UnsubscribeAsync()
    {
        await UnsubscribeAsync(_presenceSubscription);
        await UnsubscribeAsync(_feedSubscription);
        (_presenceSubscription, _feedSubscription) = (null, null);
    }

    private async Task OnPresenceAsync(PresenceChanged change, StreamSequenceToken? token)
    {
        lock (Gate)
        {
            _versions.Delivered(change.Version);
        }
        await ObserveAsync(change);
    }

    private Task OnFeedAsync(FeedEvent feedEvent, StreamSequenceToken? token)
    {
        lock (Gate)
        {
            _feedIds.Delivered(feedEvent.Id);
        }
        _feed.Received(feedEvent);
        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Room {Room}: a stream fell behind the grains; subscribing again")]
    private partial void LogResubscribing(string room);
}
