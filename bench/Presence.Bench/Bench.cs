using System.Diagnostics;

namespace Presence.Bench;

/// <summary>
/// <c>Presence.Bench [hold] [fanout] [storm] [churn] [loss] [cluster] [soak] [overload] [--smoke] [--watchers N,N...] [--hold N] [--rooms R] [--minutes M] [--out DIR] [--service DLL] [--baseline DLL] [--silo DLL]</c>:
/// runs the scenarios (all but cluster, soak and overload by default) against the service and the bare baseline, one
/// after the other in the same run, prints the tables and writes results.md, results.json and
/// fanout.svg; the cluster scenario writes cluster.md and cluster.json, the soak (the service alone,
/// for <c>--minutes</c>) soak.md and soak.json, overload (the service alone: 21,000 stream requests,
/// <c>--hold</c>) overload.md and overload.json. <c>--hold</c> and <c>--rooms</c>
/// size the held streams (of hold and of cluster), <c>--watchers</c> the fan-out rooms (of fanout and of cluster).
/// </summary>
internal static class Bench
{
    public const string Service = "service";
    public const string Baseline = "baseline";

    private static readonly string[] AllScenarios = ["hold", "fanout", "storm", "churn", "loss"];
    private const string Cluster = "cluster";
    private const string Soak = "soak";
    private const string Overload = "overload";

    public static async Task<int> Main(string[] args)
    {
        if (args is ["worker", .. var workerArgs])
        {
            return await Worker.RunAsync(workerArgs);
        }
        var smoke = args.Contains("--smoke");
        var scenarios = args.Where(arg => arg is Cluster or Soak or Overload || AllScenarios.Contains(arg)).DefaultIfEmpty().SelectMany(s => s is null ? AllScenarios : [s]).ToList();
        var root = RepositoryRoot();
        var configuration = Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd('/'))!); // Debug or Release, as the bench was built
        var serviceDll = PathOption(args, "--service") ?? Path.Combine(root, $"src/WebFrontend/bin/{configuration}/net10.0/Presence.WebFrontend.dll");
        var baselineDll = PathOption(args, "--baseline") ?? Path.Combine(root, $"bench/Baseline/bin/{configuration}/net10.0/Presence.Baseline.dll");
        var siloDll = PathOption(args, "--silo") ?? Path.Combine(root, $"src/Silo/bin/{configuration}/net10.0/Presence.Silo.dll");
        var output = PathOption(args, "--out") ?? (smoke ? Path.Combine(Path.GetTempPath(), "presence-bench-smoke") : Path.Combine(root, "bench/results"));
        var sizes = (smoke ? Sizes.Smoke : Sizes.Full).With(
            watchers: Option(args, "--watchers") is { } roomSizes ? [.. roomSizes.Split(',').Select(int.Parse)] : null,
            hold: Option(args, "--hold") is { } hold ? int.Parse(hold) : null,
            rooms: Option(args, "--rooms") is { } rooms ? int.Parse(rooms) : null,
            minutes: Option(args, "--minutes") is { } minutes ? double.Parse(minutes, System.Globalization.CultureInfo.InvariantCulture) : null);

        var report = new Report { Mode = smoke ? "smoke" : "full", Started = DateTimeOffset.UtcNow, Machine = Machine() };
        var servers = new[] { (Service, serviceDll), (Baseline, baselineDll) };
        foreach (var scenario in scenarios)
        {
            if (scenario == "fanout")
            {
                await FanOutRoundsAsync(report, servers, sizes);
                continue;
            }
            if (scenario == Cluster)
            {
                var cluster = new ClusterReport { Mode = report.Mode, Started = DateTimeOffset.UtcNow, Machine = report.Machine };
                try
                {
                    await ClusterBench.RunAsync(cluster, siloDll, serviceDll, sizes);
                }
                finally
                {
                    cluster.Write(output); // what was measured, also when a part failed
                    Console.WriteLine();
                    Console.WriteLine(cluster.Markdown());
                }
                continue;
            }
            if (scenario == Soak)
            {
                Console.WriteLine($"soak on {Service} for {sizes.SoakDuration.TotalMinutes:F1} minutes...");
                await using var server = await ServerProcess.StartAsync(Service, serviceDll, [$"--Feed:HistorySize={sizes.SoakHistory}"]);
                var soak = await Presence.Bench.Soak.RunAsync(server, sizes);
                soak.Write(output);
                Console.WriteLine();
                Console.WriteLine(soak.Markdown());
                continue;
            }
            if (scenario == Overload)
            {
                Console.WriteLine($"overload on {Service}: {sizes.OverloadAttempts} stream requests...");
                await using var server = await ServerProcess.StartAsync(Service, serviceDll, [$"--Limits:MaxStreams={sizes.OverloadMaxStreams}"]);
                var overload = await Presence.Bench.Overload.RunAsync(server, sizes.OverloadAttempts, sizes.OverloadMaxStreams, sizes.HoldRooms, sizes.ConnectionsPerProcess);
                overload.Write(output);
                Console.WriteLine();
                Console.WriteLine(overload.Markdown());
                continue;
            }
            foreach (var (name, dll) in servers)
            {
                Console.WriteLine($"{scenario} on {name}...");
                // Holding is compared with a baseline that only holds: broadcasting a count to the
                // whole room on every join would inflate its memory and flatter the service.
                string[] settings = scenario == "hold" && name == Baseline ? ["--Baseline:HoldOnly=true"] : [];
                await using var server = await ServerProcess.StartAsync(name, dll, settings);
                switch (scenario)
                {
                    case "hold":
                        report.Hold.Add(await Scenarios.HoldAsync(server, sizes.HoldConnections, sizes.HoldRooms, sizes.ConnectionsPerProcess));
                        break;
                    case "storm":
                        report.Storm.Add(await Scenarios.StormAsync(server, sizes.StormJoins, sizes.StormWatchers));
                        break;
                    case "churn":
                        report.Churn.Add(await Scenarios.ChurnAsync(server, sizes.ChurnDuration, sizes.ChurnSlots, sizes.ChurnRooms));
                        break;
                    case "loss":
                        report.Loss.Add(await Scenarios.LossAsync(server, sizes.LossConnections));
                        break;
                }
            }
        }

        if (scenarios.Any(scenario => scenario is not (Cluster or Soak or Overload)))
        {
            Targets.Check(report);
            report.Write(output);
            Console.WriteLine();
            Console.WriteLine(report.Markdown());
        }
        Console.WriteLine($"written to {output}");
        return 0;
    }

    /// <summary>
    /// The machine is shared and its load varies by the minute: rounds alternate between the servers
    /// so that both see the same conditions, and the report takes the medians.
    /// </summary>
    private static async Task FanOutRoundsAsync(Report report, (string Name, string Dll)[] servers, Sizes sizes)
    {
        foreach (var watchers in sizes.FanOutRoomSizes)
        {
            for (var round = 1; round <= sizes.FanOutRounds; round++)
            {
                foreach (var (name, dll) in servers)
                {
                    Console.WriteLine($"fanout on {name}, {watchers} watchers, round {round} of {sizes.FanOutRounds}...");
                    await using var server = await ServerProcess.StartAsync(name, dll, []);
                    report.FanOutRounds.Add(await Scenarios.FanOutAsync(name, [server], watchers, sizes.ConnectionsPerProcess,
                        sizes.FanOutWarmUpEvents, sizes.FanOutEvents, sizes.FanOutRate));
                }
            }
        }
    }

    private static string? Option(string[] args, string name)
    {
        var index = Array.IndexOf(args, name);
        return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
    }

    private static string? PathOption(string[] args, string name) => Option(args, name) is { } path ? Path.GetFullPath(path) : null;

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Presence.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("run the bench from the repository's build output");
    }

    public static string Machine()
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim();
        return $"{Environment.ProcessorCount} cores ({cpu}), {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB";
    }
}

/// <summary>How big each scenario is: full runs aim at the issue's targets, smoke runs take seconds.</summary>
internal sealed record Sizes
{
    public required int HoldConnections { get; init; }
    public required int HoldRooms { get; init; }
    public required int ConnectionsPerProcess { get; init; }
    public required int[] FanOutRoomSizes { get; init; }
    public required int FanOutRounds { get; init; }
    public required int FanOutWarmUpEvents { get; init; }
    public required int FanOutEvents { get; init; }
    public required double FanOutRate { get; init; }
    public required int StormJoins { get; init; }
    public required int StormWatchers { get; init; }
    public required TimeSpan ChurnDuration { get; init; }
    public required int ChurnSlots { get; init; }
    public required int ChurnRooms { get; init; }
    public required int LossConnections { get; init; }
    public required int ClusterFrontEnds { get; init; }
    public required int ClusterHoldConnections { get; init; }
    public required int ClusterHoldRooms { get; init; }
    public required int[] ClusterFanOutRoomSizes { get; init; }
    public required int ClusterPublishes { get; init; }
    public required double ClusterPublishRate { get; init; }
    public required int ClusterHistoryEvents { get; init; }
    public required int ClusterHistoryEventBytes { get; init; }
    /// <summary>From the second silo's start to the kill of the first: front ends refresh their gateway list every 5 s.</summary>
    public required TimeSpan ClusterSecondSiloSettle { get; init; }
    /// <summary>How long the counts are watched after the kill: past the lease (30 s) and the renewal after it.</summary>
    public required TimeSpan ClusterKillWindow { get; init; }
    public required int OverloadAttempts { get; init; }
    /// <summary>The service's default in full runs.</summary>
    public required int OverloadMaxStreams { get; init; }
    public required TimeSpan SoakDuration { get; init; }
    public required int SoakHeld { get; init; }
    /// <summary>Feed:HistorySize of the soak's server; each room's history is filled to it first.</summary>
    public required int SoakHistory { get; init; }
    public required int SoakRooms { get; init; }
    public required int SoakChurnSlots { get; init; }
    public required double SoakPublishRate { get; init; }
    public required int SoakStalled { get; init; }
    public required (TimeSpan Least, TimeSpan Most) SoakStalledLifetime { get; init; }

    public static Sizes Full { get; } = new()
    {
        HoldConnections = 19_000, HoldRooms = 100, ConnectionsPerProcess = 15_000,
        FanOutRoomSizes = [1_000, 2_500, 5_000, 10_000], FanOutRounds = 5, FanOutWarmUpEvents = 100, FanOutEvents = 100, FanOutRate = 10,
        StormJoins = 10_000, StormWatchers = 20,
        ChurnDuration = TimeSpan.FromSeconds(20), ChurnSlots = 200, ChurnRooms = 20,
        LossConnections = 2_000,
        ClusterFrontEnds = 3, ClusterHoldConnections = 50_000, ClusterHoldRooms = 100, ClusterFanOutRoomSizes = [10_000, 30_000],
        ClusterPublishes = 1_000, ClusterPublishRate = 100, ClusterHistoryEvents = 500, ClusterHistoryEventBytes = 64 * 1024,
        ClusterSecondSiloSettle = TimeSpan.FromSeconds(15), ClusterKillWindow = TimeSpan.FromSeconds(50),
        OverloadAttempts = 21_000, OverloadMaxStreams = 19_000,
        SoakDuration = TimeSpan.FromMinutes(10), SoakHeld = 2_000, SoakHistory = 500, SoakRooms = 20, SoakChurnSlots = 50, SoakPublishRate = 20, SoakStalled = 40,
        SoakStalledLifetime = (TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(90)),
    };

    public static Sizes Smoke { get; } = new()
    {
        HoldConnections = 200, HoldRooms = 4, ConnectionsPerProcess = 150,
        FanOutRoomSizes = [20, 50], FanOutRounds = 1, FanOutWarmUpEvents = 3, FanOutEvents = 10, FanOutRate = 20,
        StormJoins = 200, StormWatchers = 3,
        ChurnDuration = TimeSpan.FromSeconds(2), ChurnSlots = 20, ChurnRooms = 4,
        LossConnections = 50,
        ClusterFrontEnds = 3, ClusterHoldConnections = 300, ClusterHoldRooms = 4, ClusterFanOutRoomSizes = [60],
        ClusterPublishes = 50, ClusterPublishRate = 100, ClusterHistoryEvents = 20, ClusterHistoryEventBytes = 64 * 1024,
        ClusterSecondSiloSettle = TimeSpan.FromSeconds(6), ClusterKillWindow = TimeSpan.FromSeconds(15),
        OverloadAttempts = 120, OverloadMaxStreams = 100,
        SoakDuration = TimeSpan.FromSeconds(12), SoakHeld = 40, SoakHistory = 20, SoakRooms = 3, SoakChurnSlots = 4, SoakPublishRate = 10, SoakStalled = 4,
        SoakStalledLifetime = (TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3)),
    };

    /// <summary>The sizes given on the command line, for the single-process scenarios and the cluster alike.</summary>
    public Sizes With(int[]? watchers, int? hold, int? rooms, double? minutes) => this with
    {
        SoakDuration = minutes is { } m ? TimeSpan.FromMinutes(m) : SoakDuration,
        FanOutRoomSizes = watchers ?? FanOutRoomSizes,
        ClusterFanOutRoomSizes = watchers ?? ClusterFanOutRoomSizes,
        HoldConnections = hold ?? HoldConnections,
        OverloadAttempts = hold ?? OverloadAttempts,
        ClusterHoldConnections = hold ?? ClusterHoldConnections,
        HoldRooms = rooms ?? HoldRooms,
        ClusterHoldRooms = rooms ?? ClusterHoldRooms,
    };
}

/// <summary>The performance targets of the benchmark issue, checked against the same run's baseline.</summary>
internal static class Targets
{
    public static void Check(Report report)
    {
        void Add(bool met, string text) => report.Targets.Add($"{(met ? "met" : "MISSED")}: {text}");

        if (Pair(report.Hold) is var (holdS, holdB))
        {
            Add(holdS.ConnectSeconds <= 30, $"hold: {holdS.Connections} connections all connected in {holdS.ConnectSeconds:F1} s (at most 30 s)");
            var ratio = holdS.BytesPerConnection / holdB.BytesPerConnection;
            Add(ratio <= 1.3, $"hold: RSS per connection {ratio:F2}x the baseline's (at most 1.3x)");
        }
        var largest = report.FanOut.Select(r => r.Watchers).DefaultIfEmpty().Max();
        if (Pair(report.FanOut.Where(r => r.Watchers == largest).ToList()) is var (fanS, fanB))
        {
            var ratio = fanS.DeliveriesPerSecond / fanB.DeliveriesPerSecond;
            Add(ratio >= 1.0, $"fan-out, {largest} watchers: deliveries/s {ratio:F2}x the baseline's (at least 1.0x)");
            Add(fanS.P99Ms <= fanB.P99Ms + 20, $"fan-out, {largest} watchers: p99 {fanS.P99Ms:F0} ms vs baseline {fanB.P99Ms:F0} ms (at most +20 ms)");
        }
        foreach (var storm in report.Storm.Where(r => r.Server == Bench.Service))
        {
            Add(storm.MaxEventsPerWatcherPerSecond <= 1000.0 / 250 + 1,
                $"join storm: at most {storm.MaxEventsPerWatcherPerSecond:F1} presence events per watcher per second of storm (at most 5)");
            Add(storm.ExactAfterLastJoinMs <= 1000, $"join storm: every watcher exact {storm.ExactAfterLastJoinMs:F0} ms after the last join (at most 1000 ms)");
        }
        foreach (var loss in report.Loss.Where(r => r.Server == Bench.Service))
        {
            Add(loss.CountsDroppedAfterMs <= 45_000, $"abrupt loss: counts dropped {loss.CountsDroppedAfterMs:F0} ms after the kill (at most lease + keep-alive = 45 s)");
        }
    }

    private static (T Service, T Baseline)? Pair<T>(IReadOnlyList<T> rows) where T : IMeasured =>
        rows.FirstOrDefault(r => r.Server == Bench.Service) is { } s && rows.FirstOrDefault(r => r.Server == Bench.Baseline) is { } b
            ? (s, b)
            : null;
}
