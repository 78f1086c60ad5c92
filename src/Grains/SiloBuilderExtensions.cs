using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;
using Presence.Grains.Interfaces;

namespace Presence.Grains;

public static class SiloBuilderExtensions
{
    /// <summary>
    /// The room grains with in-memory storage, reminders and streams: the embedded default, where
    /// one process is the whole cluster.
    /// </summary>
    public static ISiloBuilder AddPresenceGrains(this ISiloBuilder silo)
    {
        silo.Services.AddValidatedOptions<PresenceOptions>(PresenceOptions.Section);
        silo.Services.AddValidatedOptions<FeedOptions>(FeedOptions.Section);

        silo.AddMemoryGrainStorage(Storage.Rooms);
        silo.AddMemoryGrainStorage(RoomStreams.PubSubStore);
        silo.UseInMemoryReminderService();
        silo.AddMemoryStreams(RoomStreams.ProviderName, streams => streams.ConfigurePullingAgent(agent =>
            // The default 100 ms poll would be added to the latency of every count and event.
            agent.Configure(options => options.GetQueueMsgsTimerPeriod = TimeSpan.FromMilliseconds(10))));
        return silo;
    }

    /// <summary>A single-machine cluster on the ports <c>Orleans:SiloPort</c> and <c>Orleans:GatewayPort</c>.</summary>
    public static ISiloBuilder UseLocalhostPresenceCluster(this ISiloBuilder silo, IConfiguration configuration) =>
        silo.UseLocalhostClustering(
            siloPort: configuration.GetValue("Orleans:SiloPort", 11111),
            gatewayPort: configuration.GetValue("Orleans:GatewayPort", 30000));
}
