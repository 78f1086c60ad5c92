using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Presence.Bench;

/// <summary>Everything one bench run measured, with the service beside the baseline.</summary>
internal sealed class Report
{
    public required string Mode { get; init; }
    public required DateTimeOffset Started { get; init; }
    public required string Machine { get; init; }
    public List<HoldResult> Hold { get; } = [];
    /// <summary>Every fan-out round, in the order run: service and baseline alternate.</summary>
    public List<FanOutResult> FanOutRounds { get; } = [];

    /// <summary>The fan-out rounds of each server and room size, as medians.</summary>
    public List<FanOutResult> FanOut => [.. FanOutRounds.GroupBy(r => (r.Server, r.Watchers)).Select(g => FanOutResult.Median([.. g]))];
    public List<StormResult> Storm { get; } = [];
    public List<ChurnResult> Churn { get; } = [];
    public List<LossResult> Loss { get; } = [];
    public List<string> Targets { get; } = [];

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // NaN: not reached
    };

    /// <summary>Writes <c>{name}.json</c> (every figure) and <c>{name}.md</c> (the tables) of a result into <paramref name="directory"/>.</summary>
    public static void WriteFiles(string directory, string name, object result, string markdown)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, $"{name}.json"), JsonSerializer.Serialize(result, Json));
        File.WriteAllText(Path.Combine(directory, $"{name}.md"), markdown);
    }

    public void Write(string directory)
    {
        WriteFiles(directory, "results", this, Markdown());
        if (FanOut.Count > 0)
        {
            File.WriteAllText(Path.Combine(directory, "fanout.svg"), Chart.FanOut(FanOut));
        }
    }

    public string Markdown()
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Bench run ({Mode}) of {Started:yyyy-MM-dd HH:mm} UTC on {Machine}; load generator on the same machine.");
        md.AppendLine();
        if (Hold.Count > 0)
        {
            md.AppendLine("**hold**: N streams over R rooms, opened by worker processes; server RSS after minus before, per connection. The baseline only holds here (`Baseline:HoldOnly`): each connection gets the retry line and the count in its own queue, nothing is broadcast on a join.");
            md.AppendLine();
            md.AppendLine("| server | connections | rooms | client processes | all connected in | RSS before | RSS after | per connection |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in Hold)
            {
                md.AppendLine(Row(r.Server, r.Connections, r.Rooms, r.Processes, $"{r.ConnectSeconds:F1} s", $"{r.RssBeforeMb:F0} MB", $"{r.RssAfterMb:F0} MB", Kb(r.BytesPerConnection)));
            }
            md.AppendLine(Ratio("per connection, service / baseline", Hold, r => r.BytesPerConnection));
        }
        if (FanOutRounds.Count > 0)
        {
            var fanOut = FanOut;
            md.AppendLine("**fan-out**: one room of S watchers, M events, each published once the previous one reached every watcher (and at most at the rate shown); latency from publish to the last watcher's delivery. Each round starts a fresh server, warms it up with unmeasured events, then measures; rounds alternate between service and baseline, and each figure is the median of the rounds'.");
            md.AppendLine();
            md.AppendLine("| server | watchers | events | rate at most | rounds | p50 | p99 | max | deliveries/s | delivered | server CPU per delivery | RSS per connection |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in fanOut.OrderBy(r => r.Server != Bench.Service))
            {
                md.AppendLine(Row(r.Server, r.Watchers, r.Events, $"{r.Rate:F0}/s", r.Rounds, Ms(r.P50Ms), Ms(r.P99Ms), Ms(r.MaxMs),
                    $"{r.DeliveriesPerSecond:F0}", $"{r.Delivered}/{r.Expected}", $"{r.ServerCpuMicrosecondsPerDelivery:F1} µs", Kb(r.BytesPerConnection)));
            }
            foreach (var size in fanOut.Select(r => r.Watchers).Distinct())
            {
                var rounds = FanOutRounds.Where(r => r.Watchers == size).ToList();
                var perRound = rounds.Where(r => r.Server == Bench.Service).Zip(rounds.Where(r => r.Server == Bench.Baseline), (s, b) => $"{s.DeliveriesPerSecond / b.DeliveriesPerSecond:F2}");
                md.AppendLine(Ratio($"{size} watchers: deliveries/s, service / baseline", fanOut.Where(r => r.Watchers == size).ToList(), r => r.DeliveriesPerSecond,
                    $" (round by round: {string.Join(", ", perRound)})"));
            }
        }
        if (Storm.Count > 0)
        {
            md.AppendLine("**join storm**: K clients join one room as fast as they can while W uncounted watchers listen.");
            md.AppendLine();
            md.AppendLine("| server | joins | watchers | storm lasted | presence events per watcher (most) | per second of storm | all exact after the last join |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (var r in Storm)
            {
                md.AppendLine(Row(r.Server, r.Joins, r.Watchers, $"{r.StormSeconds:F1} s", r.MaxEventsPerWatcher, $"{r.MaxEventsPerWatcherPerSecond:F1}", Ms(r.ExactAfterLastJoinMs)));
            }
            md.AppendLine();
        }
        if (Churn.Count > 0)
        {
            md.AppendLine("**churn**: streams opening and closing continuously, then counts and leftovers.");
            md.AppendLine();
            md.AppendLine("| server | seconds | concurrent | rooms | open+close cycles | all rooms at 0 after | RSS before | RSS after | open files before | after |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in Churn)
            {
                md.AppendLine(Row(r.Server, r.Seconds, r.Slots, r.Rooms, r.Cycles, Ms(r.ExactAfterMs), $"{r.RssBeforeMb:F0} MB", $"{r.RssAfterMb:F0} MB", r.FilesBefore, r.FilesAfter));
            }
            md.AppendLine();
        }
        if (Loss.Count > 0)
        {
            md.AppendLine("**abrupt loss**: a client process holding N streams is killed (no close); time until a watcher sees 0.");
            md.AppendLine();
            md.AppendLine("| server | streams killed | counts dropped after |");
            md.AppendLine("|---|---:|---:|");
            foreach (var r in Loss)
            {
                md.AppendLine(Row(r.Server, r.Killed, Ms(r.CountsDroppedAfterMs)));
            }
            md.AppendLine();
        }
        if (Targets.Count > 0)
        {
            md.AppendLine("**targets**");
            md.AppendLine();
            foreach (var target in Targets)
            {
                md.AppendLine($"- {target}");
            }
        }
        return md.ToString();
    }

    public static string Row(params object[] cells) => "| " + string.Join(" | ", cells.Select(c => Convert.ToString(c, CultureInfo.InvariantCulture))) + " |";

    public static string Ms(double ms) => double.IsNaN(ms) ? "n/a" : ms >= 100 ? $"{ms:F0} ms" : $"{ms:F1} ms";

    public static string Kb(double bytes) => $"{bytes / 1024:F1} KB";

    private static string Ratio<T>(string what, IReadOnlyList<T> rows, Func<T, double> value, string detail = "") where T : IMeasured
    {
        var service = rows.Where(r => r.Server == Bench.Service).Select(value).ToList();
        var baseline = rows.Where(r => r.Server == Bench.Baseline).Select(value).ToList();
        return service.Count == 1 && baseline.Count == 1
            ? $"\n{what}: **{service[0] / baseline[0]:F2}**{detail}\n"
            : "";
    }
}

/// <summary>What the cluster scenario measured.</summary>
internal sealed class ClusterReport
{
    public required string Mode { get; init; }
    public required DateTimeOffset Started { get; init; }
    public required string Machine { get; init; }
    public ClusterHoldResult? Hold { get; set; }
    public SiloKillResult? SiloKill { get; set; }
    public List<PublishResult> Publish { get; } = [];
    public List<FanOutResult> FanOut { get; } = [];

    public void Write(string directory) => Report.WriteFiles(directory, "cluster", this, Markdown());

    public string Markdown()
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Cluster bench run ({Mode}) of {Started:yyyy-MM-dd HH:mm} UTC on {Machine}: redis-server (nothing persisted), silos and client-mode front ends, each a process of its own; load generator on the same machine.");
        md.AppendLine();
        if (Hold is { } hold)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"**hold**: {hold.Connections} streams over {hold.Rooms} rooms, spread over the front ends by {hold.Processes} worker processes, all connected in **{hold.ConnectSeconds:F1} s**; RSS after minus before, per connection of the front end.");
            md.AppendLine();
            md.AppendLine("| front end | connections | RSS before | RSS after | per connection |");
            md.AppendLine("|---|---:|---:|---:|---:|");
            foreach (var r in hold.FrontEnds)
            {
                md.AppendLine(Report.Row(r.Server, r.Connections, $"{r.RssBeforeMb:F0} MB", $"{r.RssAfterMb:F0} MB", Report.Kb(r.BytesPerConnection)));
            }
            md.AppendLine();
            md.AppendLine(CultureInfo.InvariantCulture, $"Every room's count exact on every front end (a `?count=false` watcher per room per front end) {Report.Ms(hold.ExactAfterLastJoinMs)} after the last stream had its first event: {Met(hold.ExactAfterLastJoinMs <= 2000)} (at most 2 s). The silo's RSS grew by {Report.Kb(hold.SiloBytesPerConnection)} per connection, Redis's by {Report.Kb(hold.RedisBytesPerConnection)}.");
            md.AppendLine();
        }
        if (SiloKill is { } kill)
        {
            md.AppendLine(CultureInfo.InvariantCulture, $"**silo killed** (SIGKILL) under the {kill.Connections} streams in {kill.Rooms} rooms, a second silo running; every room read on every front end (`GET /rooms/{{room}}`), pass after pass, and the watchers' counts, for {kill.WindowSeconds:F0} s after the kill.");
            md.AppendLine();
            md.AppendLine("| | snapshots | watchers |");
            md.AppendLine("|---|---:|---:|");
            md.AppendLine(Report.Row("every count exact for good, after the kill", Seconds(kill.SnapshotsExactFromSeconds), Seconds(kill.WatchersExactFromSeconds)));
            md.AppendLine(Report.Row("every count exact first, after the kill", Seconds(kill.SnapshotsFirstExactSeconds), ""));
            md.AppendLine(Report.Row("most below / above the truth", $"{kill.SnapshotsMostBelow} / {kill.SnapshotsMostAbove}", $"{kill.WatchersMostBelow} / {kill.WatchersMostAbove}"));
            md.AppendLine(Report.Row("failed reads", $"{kill.SnapshotFailures} of {kill.SnapshotReads}", ""));
            md.AppendLine(Report.Row("slowest read", Seconds(kill.SlowestReadSeconds), ""));
            md.AppendLine();
        }
        if (Publish.Count > 0)
        {
            md.AppendLine("**publish**: small events published one after the other through one front end, at most at the rate shown, into a room whose history first got the events shown; time from sending to `201`.");
            md.AppendLine();
            md.AppendLine("| kept before | publishes | rate at most | p50 | p99 | max |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|");
            foreach (var r in Publish)
            {
                md.AppendLine(Report.Row(r.HistoryEvents == 0 ? "nothing" : $"{r.HistoryEvents} events of {r.HistoryEventBytes / 1024} KiB", r.Publishes, $"{r.Rate:F0}/s",
                    Report.Ms(r.P50Ms), Report.Ms(r.P99Ms), Report.Ms(r.MaxMs)));
            }
            if (Publish is [var empty, .., var kept])
            {
                md.AppendLine();
                md.AppendLine(CultureInfo.InvariantCulture, $"with history / empty: p50 **{kept.P50Ms / empty.P50Ms:F2}x**, p99 **{kept.P99Ms / empty.P99Ms:F2}x**: {Met(kept.P99Ms <= 1.2 * empty.P99Ms)} (at most 1.2x)");
            }
            md.AppendLine();
        }
        if (FanOut.Count > 0)
        {
            md.AppendLine("**fan-out**: one room of S watchers (spread over the front ends), M events published through one front end, each once the previous one reached every watcher (and at most at the rate shown), after unmeasured warm-up events; one round each. The embedded service (one process, the single-process default) in the same run for comparison.");
            md.AppendLine();
            md.AppendLine("| servers | watchers | events | rate at most | p50 | p99 | max | deliveries/s | delivered | front-end CPU per delivery | front-end RSS per connection |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in FanOut)
            {
                md.AppendLine(Report.Row(r.Server, r.Watchers, r.Events, $"{r.Rate:F0}/s", Report.Ms(r.P50Ms), Report.Ms(r.P99Ms), Report.Ms(r.MaxMs),
                    $"{r.DeliveriesPerSecond:F0}", $"{r.Delivered}/{r.Expected}", $"{r.ServerCpuMicrosecondsPerDelivery:F1} µs", Report.Kb(r.BytesPerConnection)));
            }
            md.AppendLine();
        }
        return md.ToString();
    }

    private static string Met(bool met) => met ? "met" : "MISSED";

    private static string Seconds(double seconds) => double.IsNaN(seconds) ? "not within the window" : $"{seconds:F1} s";
}
