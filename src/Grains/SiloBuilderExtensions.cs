using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Persistence;
using Orleans.Serialization;
using Orleans.Storage;
using Presence.Grains.Feed;
using Presence.Grains.Interfaces;
using Presence.Grains.Webhooks;
using StackExchange.Redis;

namespace Presence.Grains;

public static class SiloBuilderExtensions
{
    /// <summary>How long the memory streams' queues keep a message delivered to its consumers.</summary>
    private static readonly TimeSpan StreamCacheTime = TimeSpan.FromMinutes(1);

    private const int GrainLocationCacheSize = 20_000;

    /// <summary>
    /// The room grains and the memory streams between them and the front ends, whatever the
    /// storage; the streams over <paramref name="streamQueues"/> queues (see <see cref="StreamQueues"/>).
    /// </summary>
    public static ISiloBuilder AddPresenceGrains(this ISiloBuilder silo, int streamQueues)
    {
        silo.Services.AddValidatedOptions<PresenceOptions>(PresenceOptions.Section);
        silo.Services.AddValidatedOptions<FeedOptions>(FeedOptions.Section);
        silo.Services.AddValidatedOptions<PrivateRoomsOptions>(PrivateRoomsOptions.Section);
        silo.Services.AddMetrics();
        silo.Services.AddSingleton<GrainMetrics>();
        silo.Services.AddWebhooks();
        silo.AddIncomingGrainCallFilter<StorageFailureFilter>();
        // Every connection activates a ConnectionGrain once, and each activation stayed in the
        // silo's cache of grain locations: up to a million entries by default, about 0.3 KB each,
        // the growth a soak saw once the streams' cache was bounded. The entries worth keeping are
        // the rooms' grains, which their renewals keep at the front of the LRU.
        silo.Configure<GrainDirectoryOptions>(options => options.CacheSize = GrainLocationCacheSize);
        silo.AddMemoryStreams(RoomStreams.ProviderName, streams =>
        {
            streams.ConfigurePartitioning(streamQueues);
            // The default 100 ms poll would be added to the latency of every count and event; at
            // 5 ms an idle process spends about a tenth of a core on polling (measured with 8 queues:
            // 2 ms, 0.14; 10 ms, 0.075).
            streams.ConfigurePullingAgent(agent => agent.Configure(options => options.GetQueueMsgsTimerPeriod = TimeSpan.FromMilliseconds(5)));
            // By default the queues' cache keeps every message at least 5 and up to 30 minutes for
            // consumers that rewind; ours never do (a front end that falls behind reads the feed
            // grain). Kept that long, the messages were most of the memory a soak saw grow: 14 MB a
            // minute at 20 publishes a second, still growing after 10 minutes.
            streams.ConfigureCacheEviction(eviction => eviction.Configure(options =>
            {
                options.DataMinTimeInCache = StreamCacheTime;
                options.DataMaxAgeInCache = StreamCacheTime;
                options.MetadataMinTimeInCache = StreamCacheTime;
            }));
        });
        return silo;
    }

    /// <summary>A single-machine cluster on the ports <c>Orleans:SiloPort</c> and <c>Orleans:GatewayPort</c>.</summary>
    public static ISiloBuilder UseLocalhostPresenceCluster(this ISiloBuilder silo, IConfiguration configuration) =>
        silo.UseLocalhostClustering(
            siloPort: configuration.GetValue("Orleans:SiloPort", 11111),
            gatewayPort: configuration.GetValue("Orleans:GatewayPort", 30000));

    /// <summary>The embedded default, where one process is the whole cluster: storage, reminders and feed history in memory.</summary>
    public static ISiloBuilder UseInMemoryPresenceStorage(this ISiloBuilder silo)
    {
        silo.Services.AddKeyedSingleton<IGrainStorage, ProcessGrainStorage>(Storage.Rooms);
        silo.AddMemoryGrainStorage(RoomStreams.PubSubStore, BinaryState);
        silo.UseInMemoryReminderService();
        silo.Services.AddSingleton<IFeedHistory, MemoryFeedHistory>();
        return silo;
    }

    /// <summary>
    /// Cluster mode: membership, grain state, the streams' subscriptions, reminders and the feed
    /// history in the Redis of <c>ConnectionStrings:Redis</c>; the feed history through
    /// <paramref name="feedRedis"/>, connected at start (never inside a grain's activation).
    /// </summary>
    public static ISiloBuilder UseRedisPresenceCluster(this ISiloBuilder silo, IConfiguration configuration, IConnectionMultiplexer feedRedis)
    {
        var redis = PresenceCluster.RedisOptions(configuration);
        var endpoints = PresenceCluster.Endpoints(configuration);
        silo.Services.AddPresenceClusterOptions();
        // Silo and gateway ports are not authenticated: they listen on every address only when the
        // silo is told to advertise one other than loopback.
        silo.ConfigureEndpoints(endpoints.AdvertisedIP, endpoints.SiloPort, endpoints.GatewayPort,
            listenOnAnyHostAddress: !IPAddress.IsLoopback(endpoints.AdvertisedIP));
        silo.UseRedisClustering(options => options.ConfigurationOptions = redis);
        silo.Configure<ClusterMembershipOptions>(PresenceCluster.DetectFailuresInSeconds);
        silo.AddRedisGrainStorage(Storage.Rooms, RedisState);
        silo.AddRedisGrainStorage(RoomStreams.PubSubStore, RedisState);
        silo.UseRedisReminderService(options => options.ConfigurationOptions = redis);
        silo.Services.AddSingleton(feedRedis);
        silo.Services.AddSingleton<IFeedHistory, RedisFeedHistory>();
        return silo;

        void RedisState(OptionsBuilder<RedisStorageOptions> storage) => storage.Configure<Serializer>((options, serializer) =>
        {
            options.ConfigurationOptions = redis;
            options.DeleteStateOnClear = true; // a closed connection leaves no key behind
            options.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
        });
    }

    // Orleans' own binary serializer: with the default JSON one, storing every connection's record
    // was about a fifth of the server's CPU while connections opened (profiled).
    private static void BinaryState(OptionsBuilder<MemoryGrainStorageOptions> storage) =>
        storage.Configure<Serializer>((options, serializer) => options.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer));
}
