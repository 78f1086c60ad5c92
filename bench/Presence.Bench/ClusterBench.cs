using System.Diagnostics;
using System.Net.ServerSentEvents;

namespace Presence.Bench;

internal sealed record ClusterHoldResult(int Connections, int Rooms, int Processes, double ConnectSeconds, double ExactAfterLastJoinMs,
    List<HoldResult> FrontEnds, double SiloBytesPerConnection, double RedisBytesPerConnection);

/// <summary>
/// After the silo that hosts every room is killed (a second one running): when the rooms' snapshots
/// (<c>GET /rooms/{room}</c> on every front end) and the watchers' counts were exact again, what
/// they showed meanwhile, and how many snapshot reads failed, over a window of observation.
/// </summary>
internal sealed record SiloKillResult(int Connections, int Rooms, double WindowSeconds,
    double SnapshotsFirstExactSeconds, double SnapshotsExactFromSeconds, int SnapshotReads, int SnapshotFailures, double SlowestReadSeconds,
    int SnapshotsMostBelow, int SnapshotsMostAbove,
    double WatchersExactFromSeconds, int WatchersMostBelow, int WatchersMostAbove);

/// <summary>
/// Cluster mode on this machine: a redis-server, silos and client-mode front ends, each a process
/// of its own, started from the Release build with the documented settings.
/// </summary>
internal sealed class BenchCluster : IAsyncDisposable
{
    private readonly string _siloDll;
    private readonly int _redisPort;

    private BenchCluster(ServerProcess redis, int redisPort, string siloDll)
    {
        Redis = redis;
        _redisPort = redisPort;
        _siloDll = siloDll;
    }

    public ServerProcess Redis { get; }

    public List<ServerProcess> Silos { get; } = [];

    public List<ServerProcess> FrontEnds { get; } = [];

    private string RedisSetting => $"--ConnectionStrings:Redis=127.0.0.1:{_redisPort}";

    /// <summary>Redis (nothing persisted), one silo, then the front ends.</summary>
    public static async Task<BenchCluster> StartAsync(string siloDll, string frontEndDll, int frontEnds)
    {
        var port = ServerProcess.FreePort();
        var redis = await ServerProcess.StartAsync("redis", "redis-server",
            ["--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], Path.GetTempPath(),
            new Uri($"redis://127.0.0.1:{port}"), "Ready to accept connections");
        var cluster = new BenchCluster(redis, port, siloDll);
        try
        {
            await cluster.StartSiloAsync();
            for (var f = 1; f <= frontEnds; f++)
            {
                cluster.FrontEnds.Add(await ServerProcess.StartAsync($"frontend-{f}", frontEndDll, ["--Orleans:Mode=Client", cluster.RedisSetting]));
            }
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async Task<ServerProcess> StartSiloAsync()
    {
        var (siloPort, gatewayPort) = (ServerProcess.FreePort(), ServerProcess.FreePort());
        var silo = await ServerProcess.StartAsync($"silo-{Silos.Count + 1}", "dotnet",
            [_siloDll, RedisSetting, $"--Orleans:SiloPort={siloPort}", $"--Orleans:GatewayPort={gatewayPort}", $"--Dashboard:Port={ServerProcess.FreePort()}",
             "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Information"],
            Path.GetDirectoryName(_siloDll)!, new Uri($"tcp://127.0.0.1:{siloPort}"), "Application started");
        Silos.Add(silo);
        return silo;
    }

    /// <summary>Front ends first (their streams end), then silos, then Redis.</summary>
    public async ValueTask DisposeAsync()
    {
        foreach (var process in FrontEnds.Concat(Silos).Append(Redis))
        {
            await process.DisposeAsync();
        }
    }
}

/// <summary>
/// One uncounted watcher (<c>?count=false</c>) per room per front end: the counts each front end
/// shows, with the time each arrived.
/// </summary>
internal sealed class RoomWatchers : IAsyncDisposable
{
    private readonly List<SseClients> _clients;
    private readonly Watcher[] _watchers;
    private readonly (string Room, List<(long At, int Count)> Shown)[] _shown;

    private RoomWatchers(List<SseClients> clients, Watcher[] watchers, (string Room, List<(long At, int Count)> Shown)[] shown) =>
        (_clients, _watchers, _shown) = (clients, watchers, shown);

    public static async Task<RoomWatchers> OpenAsync(IReadOnlyList<ServerProcess> frontEnds, IReadOnlyList<string> rooms)
    {
        var clients = frontEnds.Select(frontEnd => new SseClients(frontEnd.Address, sourceAddresses: 1, firstSourceAddress: 200)).ToList();
        var shown = clients.SelectMany(_ => rooms, (_, room) => (Room: room, Shown: new List<(long At, int Count)>())).ToArray();
        var watchers = await Load.OpenManyAsync(shown.Length, (i, cancellationToken) =>
            clients[i / rooms.Count].OpenAsync($"/rooms/{shown[i].Room}/events?count=false", (item, at) => Record(shown[i].Shown, item, at), cancellationToken));
        return new RoomWatchers(clients, watchers, shown);
    }

    private static void Record(List<(long At, int Count)> shown, SseItem<string> item, long at)
    {
        if (item.EventType == "presence")
        {
            lock (shown)
            {
                shown.Add((at, Load.PresenceConnections(item.Data)));
            }
        }
    }

    /// <summary>
    /// Waits (at most <paramref name="timeout"/>) until every watcher shows its room's expected count;
    /// the time from <paramref name="since"/> until the last of them got there, or NaN.
    /// </summary>
    public async Task<double> WaitUntilExactAsync(IReadOnlyDictionary<string, int> expected, long since, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (ExactFrom(expected, since) is null && waited.Elapsed < timeout)
        {
            await Task.Delay(10); // polling the watchers' last counts
        }
        return SecondsSince(since, ExactFrom(expected, since)) * 1000;
    }

    /// <summary>The counts shown after <paramref name="since"/> furthest below and above the expected ones (0 if none).</summary>
    public (int MostBelow, int MostAbove) Deviation(IReadOnlyDictionary<string, int> expected, long since)
    {
        var deviations = Samples(since).Select(sample => sample.Count - expected[sample.Room]).DefaultIfEmpty().ToList();
        return (Math.Max(0, -deviations.Min()), Math.Max(0, deviations.Max()));
    }

    /// <summary>
    /// When the last watcher came to show its room's count for good: the latest arrival of a count
    /// after a wrong one, at least <paramref name="since"/>; null while some watcher shows a wrong one.
    /// </summary>
    public long? ExactFrom(IReadOnlyDictionary<string, int> expected, long since)
    {
        var exactFrom = since;
        foreach (var (room, shown) in _shown)
        {
            lock (shown)
            {
                if (shown.Count == 0 || shown[^1].Count != expected[room])
                {
                    return null;
                }
                var lastWrong = shown.FindLastIndex(sample => sample.Count != expected[room]);
                exactFrom = Math.Max(exactFrom, shown[lastWrong + 1].At);
            }
        }
        return exactFrom;
    }

    /// <summary>Seconds from <paramref name="since"/> to <paramref name="at"/>; NaN for never.</summary>
    public static double SecondsSince(long since, long? at) => at is { } time ? Load.Milliseconds(since, time) / 1000 : double.NaN;

    private List<(string Room, int Count)> Samples(long since) =>
        [.. _shown.SelectMany(watcher => { lock (watcher.Shown) { return watcher.Shown.Where(s => s.At > since).Select(s => (watcher.Room, s.Count)).ToList(); } })];

    public async ValueTask DisposeAsync()
    {
        await Load.CloseAllAsync(_watchers);
        _clients.ForEach(client => client.Dispose());
    }
}

/// <summary>The cluster scenario: hold, silo kill under the held streams, publish latency, fan-out.</summary>
internal static class ClusterBench
{
    public static async Task RunAsync(ClusterReport report, string siloDll, string frontEndDll, Sizes sizes)
    {
        Console.WriteLine($"cluster: redis, 1 silo, {sizes.ClusterFrontEnds} front ends; their logs in {ServerProcess.LogDirectory}");
        await using (var cluster = await BenchCluster.StartAsync(siloDll, frontEndDll, sizes.ClusterFrontEnds))
        {
            await HoldAndKillAsync(report, cluster, sizes);
        }
        await using (var cluster = await BenchCluster.StartAsync(siloDll, frontEndDll, sizes.ClusterFrontEnds))
        {
            foreach (var history in new[] { 0, sizes.ClusterHistoryEvents })
            {
                Console.WriteLine($"cluster: {sizes.ClusterPublishes} publishes at {sizes.ClusterPublishRate}/s, {history} events of {sizes.ClusterHistoryEventBytes} bytes kept before...");
                report.Publish.Add(await Scenarios.PublishAsync(cluster.FrontEnds[0], sizes.FanOutWarmUpEvents, sizes.ClusterPublishes, sizes.ClusterPublishRate,
                    history, sizes.ClusterHistoryEventBytes));
            }
            foreach (var watchers in sizes.ClusterFanOutRoomSizes)
            {
                Console.WriteLine($"cluster: fan-out to {watchers} watchers over {cluster.FrontEnds.Count} front ends...");
                report.FanOut.Add(await FanOutAsync($"cluster, {cluster.FrontEnds.Count} front ends", cluster.FrontEnds, watchers, sizes));
            }
        }
        // One process holds at most about 19,900 sockets here (20,000 open files): the embedded
        // service only at the sizes a worker holds.
        foreach (var watchers in sizes.ClusterFanOutRoomSizes.Where(watchers => watchers <= sizes.ConnectionsPerProcess))
        {
            Console.WriteLine($"cluster: fan-out to {watchers} watchers on the embedded service, one process...");
            await using var service = await ServerProcess.StartAsync(Bench.Service, frontEndDll, []);
            report.FanOut.Add(await FanOutAsync("embedded, 1 process", [service], watchers, sizes));
        }
    }

    private static Task<FanOutResult> FanOutAsync(string name, IReadOnlyList<ServerProcess> servers, int watchers, Sizes sizes) =>
        Scenarios.FanOutAsync(name, servers, watchers, sizes.ConnectionsPerProcess, sizes.FanOutWarmUpEvents, sizes.FanOutEvents, sizes.FanOutRate);

    private static async Task HoldAndKillAsync(ClusterReport report, BenchCluster cluster, Sizes sizes)
    {
        var (connections, rooms) = (sizes.ClusterHoldConnections, sizes.ClusterHoldRooms);
        var prefix = $"hold-{Guid.NewGuid():N}-";
        var perRoom = HeldRooms.PerRoom(prefix, connections, rooms);
        var frontEnds = cluster.FrontEnds;
        foreach (var frontEnd in frontEnds)
        {
            await Scenarios.WarmUpAsync(frontEnd);
        }
        await using var watchers = await RoomWatchers.OpenAsync(frontEnds, [.. perRoom.Keys]);
        var before = frontEnds.Select(frontEnd => frontEnd.ResidentBytes()).ToList();
        var (siloBefore, redisBefore) = (cluster.Silos[0].ResidentBytes(), cluster.Redis.ResidentBytes());

        Console.WriteLine($"cluster: holding {connections} streams in {rooms} rooms over {frontEnds.Count} front ends...");
        await using var held = await HeldRooms.OpenAsync(frontEnds, prefix, connections, rooms, sizes.ConnectionsPerProcess);
        var lastJoin = Stopwatch.GetTimestamp();
        Console.WriteLine($"cluster: all streams open in {held.ConnectSeconds:F1} s; waiting for every watcher's count...");
        var exactMs = await watchers.WaitUntilExactAsync(perRoom, lastJoin, TimeSpan.FromMinutes(1));
        report.Hold = new ClusterHoldResult(connections, rooms, held.Processes, held.ConnectSeconds, exactMs,
            [.. frontEnds.Select((frontEnd, f) => held.Measured(frontEnd, before[f], frontEnd.ResidentBytes()))],
            (cluster.Silos[0].ResidentBytes() - siloBefore) / (double)connections,
            (cluster.Redis.ResidentBytes() - redisBefore) / (double)connections);

        Console.WriteLine("cluster: a second silo, then the first one killed...");
        await cluster.StartSiloAsync();
        await Task.Delay(sizes.ClusterSecondSiloSettle); // the front ends refresh their gateway list every 5 s
        var killedAt = Stopwatch.GetTimestamp();
        await cluster.Silos[0].KillAsync();
        report.SiloKill = await ObserveAfterKillAsync(frontEnds, watchers, perRoom, killedAt, sizes.ClusterKillWindow);
    }

    /// <summary>Reads every room's snapshot on every front end, a pass every half second, for the whole window.</summary>
    private static async Task<SiloKillResult> ObserveAfterKillAsync(List<ServerProcess> frontEnds, RoomWatchers watchers,
        Dictionary<string, int> perRoom, long killedAt, TimeSpan window)
    {
        var clients = frontEnds.Select(frontEnd => new HttpClient { BaseAddress = frontEnd.Address, Timeout = TimeSpan.FromSeconds(5) }).ToList();
        var (reads, failures, mostBelow, mostAbove, slowest) = (0, 0, 0, 0, 0L);
        double? firstExact = null;
        var exactFrom = double.NaN;
        var reading = Enumerable.Range(0, clients.Count).SelectMany(_ => perRoom.Keys, (f, room) => (Client: clients[f], Room: room)).ToList();
        var sinceKill = Stopwatch.StartNew();
        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        while (sinceKill.Elapsed < window && await pace.WaitForNextTickAsync())
        {
            var counts = new int?[reading.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, reading.Count), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            {
                var sent = Stopwatch.GetTimestamp();
                try
                {
                    counts[i] = await Load.ConnectionsAsync(reading[i].Client, reading[i].Room);
                }
                catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException)
                {
                    // a failed read: counted below
                }
                Load.InterlockedMax(ref slowest, Stopwatch.GetTimestamp() - sent);
            });
            var seconds = sinceKill.Elapsed.TotalSeconds;
            reads += counts.Length;
            failures += counts.Count(count => count is null);
            var deviations = counts.Select((count, i) => count - perRoom[reading[i].Room]).OfType<int>().ToList();
            mostBelow = Math.Max(mostBelow, -deviations.DefaultIfEmpty().Min());
            mostAbove = Math.Max(mostAbove, deviations.DefaultIfEmpty().Max());
            var exact = counts.All(count => count is not null) && deviations.All(deviation => deviation == 0);
            firstExact ??= exact ? seconds : null;
            exactFrom = exact ? double.IsNaN(exactFrom) ? seconds : exactFrom : double.NaN;
        }
        clients.ForEach(client => client.Dispose());

        var (watchersBelow, watchersAbove) = watchers.Deviation(perRoom, killedAt);
        return new SiloKillResult(perRoom.Values.Sum(), perRoom.Count, window.TotalSeconds,
            firstExact ?? double.NaN, exactFrom, reads, failures, Load.Milliseconds(0, slowest) / 1000, mostBelow, mostAbove,
            RoomWatchers.SecondsSince(killedAt, watchers.ExactFrom(perRoom, killedAt)), watchersBelow, watchersAbove);
    }
}
