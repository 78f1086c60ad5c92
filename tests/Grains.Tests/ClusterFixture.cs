using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Orleans.Hosting;
using Orleans.Storage;
using Orleans.TestingHost;
using Presence.Grains.Interfaces;

namespace Presence.Grains.Tests;

/// <summary>
/// A one-silo cluster shared by a test collection; each test uses rooms of its own. Without a
/// departure grace unless one is given; <paramref name="grainTime"/>, when given, is the clock of the
/// grains and of their timers.
/// </summary>
public abstract class ClusterFixture(double leaseSeconds, double departureGraceSeconds = 0, TimeProvider? grainTime = null) : IAsyncLifetime
{
    public const int PublishIntervalMilliseconds = 100;
    public const int HistorySize = 5;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    /// <summary>Where rooms and groups keep their state, to read or rewrite it as a successor activation finds it.</summary>
    public IGrainStorage RoomsStorage => Cluster.Silos[0].ServiceProvider.GetRequiredKeyedService<IGrainStorage>(Storage.Rooms);

    public async Task<GrainState<GroupParts>> ReadStoredAsync(IGroupGrain group)
    {
        var state = new GrainState<GroupParts>(new GroupParts());
        await RoomsStorage.ReadStateAsync("group", group.GetGrainId(), state);
        return state;
    }

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.UseInMemoryPresenceStorage().AddPresenceGrains(StreamQueues.Embedded);
            silo.Services.Configure<PresenceOptions>(options =>
            {
                options.LeaseSeconds = leaseSeconds;
                options.PublishIntervalMilliseconds = PublishIntervalMilliseconds;
                options.DepartureGraceSeconds = departureGraceSeconds;
            });
            if (grainTime is not null)
            {
                silo.Services.AddKeyedSingleton(TimeProviderNames.Grains, grainTime);
            }
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

/// <summary>
/// Leases of 30 s and a departure grace of 3 s on a fake clock that the tests move: no grain timer
/// fires until a test moves it, so a stall of the machine lapses nothing the test renews.
/// </summary>
public sealed class FakeClockCluster : ClusterFixture
{
    public const double LeaseSeconds = 30;
    public const double GraceSeconds = 3;

    public FakeClockCluster()
        : this(new FakeTimeProvider(DateTimeOffset.UtcNow))
    {
    }

    private FakeClockCluster(FakeTimeProvider time)
        : base(LeaseSeconds, GraceSeconds, time) => Time = time;

    public FakeTimeProvider Time { get; }

    /// <summary>Moves the grains' clock (off the test's thread: timers fire inside the call).</summary>
    public Task AdvanceAsync(TimeSpan by) => Task.Run(() => Time.Advance(by));
}

[CollectionDefinition(nameof(DefaultCluster))]
public sealed class DefaultClusterCollection : ICollectionFixture<DefaultCluster>;

[CollectionDefinition(nameof(FakeClockCluster))]
public sealed class FakeClockClusterCollection : ICollectionFixture<FakeClockCluster>;
