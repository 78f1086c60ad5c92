using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;

namespace Presence.Bench;

/// <summary>
/// What one service process did with more stream requests than it may hold (<c>Limits:MaxStreams</c>,
/// under its open-file limit): the answers, its open files at their most, and whether it still served
/// everything else meanwhile.
/// </summary>
internal sealed record OverloadResult(int Attempts, int MaxStreams, int Rooms, int Processes, double Seconds, Dictionary<string, int> Outcomes,
    int FilesBefore, int MostFiles, int FilesAfter, int LiveStatus, int SnapshotStatus, int ExtraStreamStatus, bool ExtraStreamRetryAfter,
    double WatcherEventMs, double EmptyAfterMs)
{
    public void Write(string directory) => Report.WriteFiles(directory, "overload", this, Markdown());

    public string Markdown()
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Overload run of {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC on {Bench.Machine()}; load generator on the same machine.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"**overload**: {Attempts} stream requests to one service process with `Limits:MaxStreams` {MaxStreams} (the machine allows 20,000 open files per process), over {Rooms} rooms, from {Processes} client processes, each tried once; a `?count=false` watcher was open before them. Then, with all of them still held, what the process answered.");
        md.AppendLine();
        md.AppendLine("| | |");
        md.AppendLine("|---|---:|");
        foreach (var (outcome, count) in Outcomes.OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            md.AppendLine(Report.Row(outcome == "error" ? "connections that failed" : $"answered {outcome}", count));
        }
        md.AppendLine(Report.Row("all tried in", $"{Seconds:F1} s"));
        md.AppendLine(Report.Row("open files before / at most / after", $"{FilesBefore} / {MostFiles} / {FilesAfter}"));
        md.AppendLine(Report.Row("meanwhile: `GET /health/live`, `GET /rooms/{room}`, one more stream", $"{LiveStatus}, {SnapshotStatus}, {ExtraStreamStatus}{(ExtraStreamRetryAfter ? " with Retry-After" : "")}"));
        md.AppendLine(Report.Row("meanwhile: an event published reached the watcher after", Report.Ms(WatcherEventMs)));
        md.AppendLine(Report.Row("every room at 0 after the streams closed", Report.Ms(EmptyAfterMs)));
        return md.ToString();
    }
}

internal static class Overload
{
    public static async Task<OverloadResult> RunAsync(ServerProcess server, int attempts, int maxStreams, int rooms, int perProcess)
    {
        var prefix = $"overload-{Guid.NewGuid():N}-";
        var room = $"{prefix}0";
        await Scenarios.WarmUpAsync(server);
        var filesBefore = server.OpenFiles();
        using var clients = new SseClients(server.Address, sourceAddresses: 2, firstSourceAddress: 200);
        using var publisher = Scenarios.Publisher(server);
        var published = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var watcher = await clients.OpenAsync($"/rooms/{room}/events?count=false", (item, at) =>
        {
            if (item.EventType == "overload")
            {
                published.TrySetResult(at);
            }
        });

        using var sampling = new CancellationTokenSource();
        var mostFiles = Task.Run(async () =>
        {
            var most = 0;
            using var every = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            do
            {
                most = Math.Max(most, server.OpenFiles());
            }
            while (await every.WaitForNextTickAsync(CancellationToken.None) && !sampling.IsCancellationRequested);
            return most;
        });
        var held = await HeldRooms.OpenAsync([server], prefix, attempts, rooms, perProcess, tolerant: true);
        int liveStatus, snapshotStatus, extraStatus;
        bool extraRetryAfter;
        double eventMs;
        try
        {
            using var live = await clients.Any.GetAsync("/health/live");
            using var snapshot = await clients.Any.GetAsync($"/rooms/{room}");
            using var extra = await clients.Any.GetAsync($"/rooms/{room}/events", HttpCompletionOption.ResponseHeadersRead);
            (liveStatus, snapshotStatus, extraStatus, extraRetryAfter) = ((int)live.StatusCode, (int)snapshot.StatusCode, (int)extra.StatusCode, extra.Headers.RetryAfter is not null);
            var sent = Stopwatch.GetTimestamp();
            (await publisher.PostAsJsonAsync($"/rooms/{room}/events", new { type = "overload", data = 1 })).EnsureSuccessStatusCode();
            eventMs = await Task.WhenAny(published.Task, Task.Delay(TimeSpan.FromSeconds(30))) == published.Task
                ? Load.Milliseconds(sent, published.Task.Result)
                : double.NaN;
        }
        finally
        {
            await held.DisposeAsync();
        }
        var empty = await Load.WaitForCountsAsync(clients.Any, Enumerable.Range(0, rooms).Select(r => $"{prefix}{r}"), _ => 0, TimeSpan.FromMinutes(1));
        await sampling.CancelAsync();
        return new OverloadResult(attempts, maxStreams, rooms, held.Processes, held.ConnectSeconds, held.Outcomes, filesBefore, await mostFiles, server.OpenFiles(),
            liveStatus, snapshotStatus, extraStatus, extraRetryAfter, eventMs, empty);
    }
}
