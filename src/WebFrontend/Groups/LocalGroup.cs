using Orleans.Streams;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Observability;
using Presence.WebFrontend.Sse;

namespace Presence.WebFrontend.Groups;

/// <summary>This front end's watchers of a group, and ONE subscription to the group's stream, however many watch it.</summary>
internal sealed partial class LocalGroup(string name, IClusterClient client, PresenceMetrics metrics, CountPacing pacing, ILogger logger)
    : LocalFanOut(name, metrics, pacing, logger)
{
    private readonly ILogger _logger = logger;
    private StreamSubscriptionHandle<GroupChanged>? _subscription;
    private DeliveryCheck _versions;

    /// <summary>Posts sums newer than any this group has seen to every local watcher.</summary>
    public Task ObserveAsync(GroupChanged change) => PostNewerAsync(change, change.Version, SseFrame.GroupAsync);

    /// <summary>
    /// Called with the group grain's snapshot once per renewal period: posted if newer than any seen.
    /// If the stream has not delivered, by now, what the grain had at the previous check, its
    /// subscription was lost silently (it happens when a silo dies): subscribe again.
    /// </summary>
    public async Task CheckSubscriptionAsync(GroupChanged snapshot)
    {
        bool stale;
        lock (Gate)
        {
            stale = _versions.FellBehind(snapshot.Version);
        }
        await ObserveAsync(snapshot);
        if (stale)
        {
            LogResubscribing(Name);
            await CloseAsync();
            await SubscribeAsync(resubscribing: true);
        }
    }

    public override async Task CloseAsync()
    {
        await UnsubscribeAsync(_subscription);
        _subscription = null;
    }

    /// <summary>Subscribes (retried through a silo failure), then takes the grain's snapshot: later changes come through the stream.</summary>
    protected override async Task SubscribeAsync(bool resubscribing)
    {
        var snapshot = await ClusterCalls.Retry.ExecuteAsync(async _ =>
        {
            try
            {
                _subscription = await client.GetStreamProvider(RoomStreams.ProviderName)
                    .GetStream<GroupChanged>(RoomStreams.Group(Name))
                    .SubscribeAsync(OnChangedAsync);
                return await client.GetGrain<IGroupGrain>(Name).GetAsync();
            }
            catch
            {
                await CloseAsync();
                throw;
            }
        });
        lock (Gate)
        {
            _versions.Subscribed(snapshot.Version);
        }
        await ObserveAsync(snapshot);
    }

    private async Task OnChangedAsync(GroupChanged change, StreamSequenceToken? token)
    {
        lock (Gate)
        {
            _versions.Delivered(change.Version);
        }
        await ObserveAsync(change);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group {Group}: its stream fell behind the grain; subscribing again")]
    private partial void LogResubscribing(string group);
}

/// <summary>The groups this front end has local watchers of.</summary>
internal sealed class LocalGroups(IClusterClient client, PresenceMetrics metrics, CountPacing pacing, ILogger<LocalGroup> logger) : LocalFanOuts<LocalGroup>
{
    protected override LocalGroup Create(string name) => new(name, client, metrics, pacing, logger);
}
