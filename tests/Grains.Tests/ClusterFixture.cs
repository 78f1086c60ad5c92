using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.TestingHost;
using Presence.Grains.Interfaces;

namespace Presence.Grains.Tests;

/// <summary>A one-silo cluster shared by a test collection; each test uses rooms of its own.</summary>
public abstract class ClusterFixture(double leaseSeconds) : IAsyncLifetime
{
    public const int PublishIntervalMilliseconds = 100;
    public const int HistorySize = 5;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.UseInMemoryPresenceStorage().AddPresenceGrains();
            silo.Services.Configure<PresenceOptions>(options =>
            {
                options.LeaseSeconds = leaseSeconds;
                options.PublishIntervalMilliseconds = PublishIntervalMilliseconds;
            });
            silo.Services.Configure<FeedOptions>(options => options.HistorySize = HistorySize);
            silo.Services.Configure<ReminderOptions>(options => options.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
        });
        builder.ConfigureClient(client => client.AddMemoryStreams(RoomStreams.ProviderName));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

/// <summary>Leases of 30 s: nothing lapses during a test.</summary>
public sealed class DefaultCluster() : ClusterFixture(leaseSeconds: 30);

/// <summary>Leases of 1 s, for tests about lapsing leases and reminders.</summary>
public sealed class ShortLeaseCluster() : ClusterFixture(leaseSeconds: 1);

[CollectionDefinition(nameof(DefaultCluster))]
public sealed class DefaultClusterCollection : ICollectionFixture<DefaultCluster>;

[CollectionDefinition(nameof(ShortLeaseCluster))]
public sealed class ShortLeaseClusterCollection : ICollectionFixture<ShortLeaseCluster>;
