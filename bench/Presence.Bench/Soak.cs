using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MathNet.Numerics.Distributions;

namespace Presence.Bench;

/// <summary>The server's memory and open files, every few seconds of a soak.</summary>
internal sealed record SoakSample(double Seconds, double RssMb, int OpenFiles);

internal sealed record SoakResult(double Minutes, int Held, int Rooms, int ChurnSlots, int Stalled, double StalledSecondsLeast, double StalledSecondsMost, double PublishRate,
    long ChurnCycles, long FailedOpens, long StalledCycles, long StalledDropped, long Published, long FailedPublishes, string FailedStatuses,
    long FeedDelivered, long FeedExpected, long FeedOutOfOrder,
    double WarmUpRssMb, double EndRssMb, double MaxRssMb, double SlopeMbPerMinute, List<SoakSample> Floors, double FloorSlopeMbPerMinute, double FloorSlopeErrorMbPerMinute, double FloorSlopeMarginMbPerMinute, double CountsExactAfterMs, double EmptyAfterMs,
    int FilesBefore, int FilesAfter, int SocketsBefore, int SocketsAfter, int HistorySize, int UnhandledExceptions, int KestrelSendTimeouts,
    List<SoakSample> Samples)
{
    /// <summary>A floor that rises by less than this after warm-up counts as flat: 30 MB an hour.</summary>
    public const double FlatSlopeMbPerMinute = 0.5;

    public void Write(string directory) => Report.WriteFiles(directory, "soak", this, Markdown());

    public string Markdown()
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Soak run of {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC on {Bench.Machine()}; load generator on the same machine.");
        md.AppendLine();
        md.AppendLine(CultureInfo.InvariantCulture, $"**soak**: {Minutes:0.#} minutes against one service process: {Held} streams held in {Rooms} rooms, {ChurnSlots} clients joining and leaving those rooms all the time (each stays 0 to 2 s), {PublishRate:F0} publishes/s over the rooms (one in ten of 16 KiB) plus {Soak.FirehoseRate:0}/s of {Soak.FirehoseEventBytes / 1024} KiB into a firehose room, and {Stalled} clients that never read (each stays {StalledSecondsLeast:0.#} to {StalledSecondsMost:0.#} s, then another comes; half of them in the firehose room, where their outboxes overflow and the server drops them). Before it all, every room's history was filled to `Feed:HistorySize` ({HistorySize}), so that the measured memory is not the histories filling up; a `?count=false` reader per room checks every feed id.");
        md.AppendLine();
        md.AppendLine("| | |");
        md.AppendLine("|---|---:|");
        md.AppendLine(Report.Row("churn: open+close cycles (failed opens)", $"{ChurnCycles} ({FailedOpens})"));
        md.AppendLine(Report.Row("stalled clients (dropped by the server)", $"{StalledCycles} ({StalledDropped})"));
        md.AppendLine(Report.Row("publishes (failed, by status)", $"{Published} ({FailedPublishes}{FailedStatuses})"));
        md.AppendLine(Report.Row("feed events read by the checkers, of those published (out of order or twice)", $"{FeedDelivered} of {FeedExpected} ({FeedOutOfOrder})"));
        md.AppendLine(Report.Row("RSS after warm-up / at the end / most", $"{WarmUpRssMb:F0} / {EndRssMb:F0} / {MaxRssMb:F0} MB"));
        md.AppendLine(Report.Row("RSS slope after warm-up (least squares over every sample: the collector's rises and falls weigh in it by where they fall)", $"{SlopeMbPerMinute:F2} MB/min"));
        md.AppendLine(Report.Row("RSS where each of the collector's compactions after warm-up left it (minute: MB)",
            Floors.Count == 0 ? "none" : string.Join(", ", Floors.Select(floor => $"{floor.Seconds / 60:F1}: {floor.RssMb:F0}"))));
        md.AppendLine(Report.Row("slope of those floors (least squares ± its standard error)",
            double.IsNaN(FloorSlopeErrorMbPerMinute) ? "too few floors" : $"**{FloorSlopeMbPerMinute:F2} ± {FloorSlopeErrorMbPerMinute:F2} MB/min**"));
        md.AppendLine(Report.Row("every room's count exact, after the load stopped", Report.Ms(CountsExactAfterMs)));
        md.AppendLine(Report.Row("every room at 0, after the last streams closed", Report.Ms(EmptyAfterMs)));
        md.AppendLine(Report.Row("unhandled request exceptions in the server's log", UnhandledExceptions));
        md.AppendLine(Report.Row("Kestrel's own errors for a send that timed out (dead-client detection of a client that stopped reading)", KestrelSendTimeouts));
        md.AppendLine(Report.Row("open files before / after (of them sockets)", $"{FilesBefore} / {FilesAfter} ({SocketsBefore} / {SocketsAfter})"));
        md.AppendLine();
        md.AppendLine("**targets**");
        md.AppendLine();
        md.AppendLine(FlatVerdict());
        md.AppendLine($"- {Met(!double.IsNaN(CountsExactAfterMs) && !double.IsNaN(EmptyAfterMs))}: counts exact (the held streams, then 0 in every room)");
        md.AppendLine($"- {Met(FeedDelivered == FeedExpected && FeedOutOfOrder == 0 && FailedPublishes == 0)}: every published event read once, in order");
        md.AppendLine($"- {Met(UnhandledExceptions == 0)}: no unhandled exception");
        md.AppendLine($"- {Met(SocketsAfter <= SocketsBefore)}: open sockets back to where they started (other open files may grow by the framework files loaded on first use, e.g. for a first stack trace)");
        return md.ToString();
    }

    private static string Met(bool met) => met ? "met" : "MISSED";

    /// <summary>
    /// Flat if the floors' slope is within the target with 95% confidence, rising if it is above it
    /// with 95% confidence; otherwise the run could not tell (the collector compacts every few
    /// minutes, and its floors differ by a few MB: a short run has too few of them).
    /// </summary>
    private string FlatVerdict()
    {
        var (least, most) = (FloorSlopeMbPerMinute - FloorSlopeMarginMbPerMinute, FloorSlopeMbPerMinute + FloorSlopeMarginMbPerMinute);
        var rise = $"its floor rises {FloorSlopeMbPerMinute:F2} ± {FloorSlopeErrorMbPerMinute:F2} MB/min (standard error) over {Floors.Count} floors";
        return double.IsNaN(FloorSlopeErrorMbPerMinute)
            ? $"- NOT RESOLVED: RSS flat after warm-up: {Floors.Count} compaction(s) after warm-up, too few to tell a rise from the collector's noise (run longer, e.g. --minutes 45)"
            : most <= FlatSlopeMbPerMinute ? $"- met: RSS flat after warm-up: {rise}, at most {most:F2} with 95% confidence (target: at most {FlatSlopeMbPerMinute} MB/min)"
            : least > FlatSlopeMbPerMinute ? $"- MISSED: RSS rises after warm-up: {rise}, at least {least:F2} with 95% confidence (target: at most {FlatSlopeMbPerMinute} MB/min)"
            : $"- NOT RESOLVED: RSS flat after warm-up: {rise}, between {least:F2} and {most:F2} with 95% confidence each way, too wide to tell against {FlatSlopeMbPerMinute} MB/min (run longer)";
    }
}

/// <summary>
/// Minutes of ordinary life against one service process: viewers held, viewers coming and going,
/// publishing, clients that stop reading. Afterwards the counts must be exact, every event must
/// have reached the readers, and the memory and the open files must not have crept up.
/// </summary>
internal static class Soak
{
    /// <summary>Under the service's 64 KiB limit on an event's data, with the JSON around it.</summary>
    public const int FirehoseEventBytes = 60 * 1024;

    public const double FirehoseRate = 2;

    private const double WarmUpFraction = 0.2;
    private const double CompactionFall = 0.05;
    private const int CompactionSteps = 12; // a minute of samples
    private static readonly TimeSpan SampleEvery = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromMinutes(1);

    public static async Task<SoakResult> RunAsync(ServerProcess server, Sizes sizes)
    {
        var prefix = $"soak-{Guid.NewGuid():N}-";
        var rooms = Enumerable.Range(0, sizes.SoakRooms).Select(r => $"{prefix}{r}").Append($"{prefix}firehose").ToArray();
        var normal = rooms[..^1];
        var firehose = rooms[^1];
        await Scenarios.WarmUpAsync(server);
        using var clients = new SseClients(server.Address);
        using var publisher = Scenarios.Publisher(server);
        var published = new Published(rooms, normal.Length);
        await published.FillAsync(publisher, sizes.SoakHistory);
        var (filesBefore, socketsBefore) = (server.OpenFiles(), server.OpenSockets());

        var checkers = await Task.WhenAll(rooms.Select((room, r) => FeedChecker.OpenAsync(clients, room, published.LastId(r))));
        var held = await HeldStream.OpenManyAsync(sizes.SoakHeld, i => (server.Address, $"/rooms/{normal[i % normal.Length]}/events"), firstSource: 40);
        var heldIn = normal.Select((room, r) => (room, Enumerable.Range(0, sizes.SoakHeld).Count(i => i % normal.Length == r))).ToDictionary();

        var started = Stopwatch.StartNew();
        var samples = new List<SoakSample>();
        using var stop = new CancellationTokenSource(sizes.SoakDuration);
        var churn = new Churn();
        var stalled = new Stalled();
        var load = Task.WhenAll(
            churn.RunAsync(clients, normal, sizes.SoakChurnSlots, stop.Token),
            stalled.RunAsync(server.Address, normal, firehose, sizes.SoakStalled, sizes.SoakStalledLifetime, stop.Token),
            published.RunAsync(publisher, first: 0, normal.Length, sizes.SoakPublishRate, stop.Token),
            published.RunAsync(publisher, first: normal.Length, 1, FirehoseRate, stop.Token));
        using (var sampling = new PeriodicTimer(SampleEvery))
        {
            do
            {
                samples.Add(new SoakSample(started.Elapsed.TotalSeconds, server.ResidentBytes() / 1e6, server.OpenFiles()));
            }
            while (!stop.IsCancellationRequested && await sampling.WaitForNextTickAsync(CancellationToken.None));
        }
        await load;
        samples.Add(new SoakSample(started.Elapsed.TotalSeconds, server.ResidentBytes() / 1e6, server.OpenFiles()));

        // Exact: what the readers were last told, and the snapshots.
        var countsExact = Math.Max(
            await WaitAsync(() => normal.Select((room, r) => checkers[r].Connections == heldIn[room]).All(exact => exact)),
            await SnapshotsAsync(clients.Any, normal, room => heldIn[room]));
        await WaitAsync(() => rooms.Select((_, r) => checkers[r].LastId == published.LastId(r)).All(caughtUp => caughtUp));
        var (delivered, outOfOrder) = (checkers.Sum(c => c.Delivered), checkers.Sum(c => c.OutOfOrder));

        await Load.CloseAllAsync(held);
        var empty = await SnapshotsAsync(clients.Any, normal, _ => 0);
        await Load.CloseAllAsync(checkers);
        clients.Dispose(); // and the connections kept alive for snapshots and publishing
        publisher.Dispose();
        await WaitAsync(() => server.OpenSockets() <= socketsBefore); // the server closes its side of the sockets when it sees them go

        var afterWarmUp = samples.Where(s => s.Seconds >= WarmUpFraction * sizes.SoakDuration.TotalSeconds).ToList();
        var floors = CompactionFloors(afterWarmUp);
        return new SoakResult(sizes.SoakDuration.TotalMinutes, sizes.SoakHeld, normal.Length, sizes.SoakChurnSlots, sizes.SoakStalled,
            sizes.SoakStalledLifetime.Least.TotalSeconds, sizes.SoakStalledLifetime.Most.TotalSeconds, sizes.SoakPublishRate,
            churn.Cycles, churn.Failed, stalled.Cycles, stalled.Dropped, published.Total, published.Failed, published.FailedStatuses,
            delivered, published.Total, outOfOrder,
            afterWarmUp[0].RssMb, samples[^1].RssMb, samples.Max(s => s.RssMb), Slope(afterWarmUp) * 60, floors, Slope(floors) * 60, SlopeStandardError(floors) * 60, SlopeMargin(floors) * 60, countsExact, empty,
            filesBefore, server.OpenFiles(), socketsBefore, server.OpenSockets(), sizes.SoakHistory,
            server.LogLines("An unhandled exception"), server.LogLines("Unexpected exception in TimingPipeFlusher.FlushAsync"), samples);
    }

    /// <summary>
    /// The RSS where each compacting collection left it. The collector gives memory back in a fall
    /// of more than <see cref="CompactionFall"/> from one sample to the next, or in a few such falls
    /// within <see cref="CompactionSteps"/> samples; the floor is the lowest RSS from the first fall
    /// to <see cref="CompactionSteps"/> samples after the last. Between compactions RSS climbs with
    /// garbage that the second generation holds until the next one; a leak shows as floors that
    /// rise, whatever the phase of those climbs in the run.
    /// </summary>
    internal static List<SoakSample> CompactionFloors(IReadOnlyList<SoakSample> samples)
    {
        bool Falls(int i) => samples[i].RssMb < samples[i - 1].RssMb * (1 - CompactionFall);

        var floors = new List<SoakSample>();
        var first = 1;
        while (first < samples.Count)
        {
            if (!Falls(first))
            {
                first++;
                continue;
            }
            var last = first;
            for (var i = first + 1; i < samples.Count && i <= last + CompactionSteps; i++)
            {
                last = Falls(i) ? i : last;
            }
            var end = Math.Min(samples.Count, last + CompactionSteps + 1);
            floors.Add(samples.Take(end).Skip(first).MinBy(sample => sample.RssMb)!);
            first = end;
        }
        return floors;
    }

    /// <summary>Least-squares slope of RSS over time, in MB per second; NaN for fewer than two samples.</summary>
    internal static double Slope(IReadOnlyList<SoakSample> samples) => Fit(samples).Slope;

    /// <summary>
    /// The standard error of <see cref="Slope"/>, in MB per second, from how far the samples lie off
    /// the fitted line; NaN for fewer than three samples (two always lie on theirs).
    /// </summary>
    internal static double SlopeStandardError(IReadOnlyList<SoakSample> samples)
    {
        if (samples.Count < 3)
        {
            return double.NaN;
        }
        var (slope, meanT, meanR, spread) = Fit(samples);
        var residuals = samples.Sum(s => Math.Pow(s.RssMb - meanR - slope * (s.Seconds - meanT), 2));
        return Math.Sqrt(residuals / (samples.Count - 2) / spread);
    }

    /// <summary>
    /// How far the true slope may lie from <see cref="Slope"/> on one side, with 95% confidence: its
    /// standard error times Student's t for the samples' degrees of freedom (few floors: a wide margin).
    /// </summary>
    internal static double SlopeMargin(IReadOnlyList<SoakSample> samples) =>
        samples.Count < 3 ? double.NaN : StudentT.InvCDF(0, 1, samples.Count - 2, 0.95) * SlopeStandardError(samples);

    /// <summary>The least-squares line through the samples, and the sum of squared distances of their times from the mean.</summary>
    private static (double Slope, double MeanSeconds, double MeanRssMb, double Spread) Fit(IReadOnlyList<SoakSample> samples)
    {
        if (samples.Count < 2)
        {
            return (double.NaN, double.NaN, double.NaN, double.NaN);
        }
        var (meanT, meanR) = (samples.Average(s => s.Seconds), samples.Average(s => s.RssMb));
        var covariance = samples.Sum(s => (s.Seconds - meanT) * (s.RssMb - meanR));
        var spread = samples.Sum(s => (s.Seconds - meanT) * (s.Seconds - meanT));
        return (covariance / spread, meanT, meanR, spread);
    }

    private static async Task<double> SnapshotsAsync(HttpClient client, IEnumerable<string> rooms, Func<string, int> expected)
    {
        try
        {
            return await Load.WaitForCountsAsync(client, rooms, expected, SettleTimeout);
        }
        catch (TimeoutException)
        {
            return double.NaN;
        }
    }

    /// <summary>Milliseconds until <paramref name="condition"/> holds, NaN if it does not within a minute.</summary>
    private static async Task<double> WaitAsync(Func<bool> condition)
    {
        var waited = Stopwatch.StartNew();
        while (!condition())
        {
            if (waited.Elapsed > SettleTimeout)
            {
                return double.NaN;
            }
            await Task.Delay(20); // polling state that the readers and the server update
        }
        return waited.Elapsed.TotalMilliseconds;
    }

    /// <summary>Viewers that join a room, stay 0 to 2 s and leave, one after the other in each slot; half of them with a viewer id.</summary>
    private sealed class Churn
    {
        private long _cycles;
        private long _failed;

        public long Cycles => Volatile.Read(ref _cycles);
        public long Failed => Volatile.Read(ref _failed);

        public Task RunAsync(SseClients clients, string[] rooms, int slots, CancellationToken stop) =>
            Parallel.ForEachAsync(Enumerable.Range(0, slots), new ParallelOptions { MaxDegreeOfParallelism = slots }, async (slot, _) =>
            {
                var random = new Random(slot);
                while (!stop.IsCancellationRequested)
                {
                    var viewer = slot % 2 == 0 ? $"?viewer=soak-{slot}" : "";
                    try
                    {
                        await using var stream = await clients.OpenAsync($"/rooms/{rooms[random.Next(rooms.Length)]}/events{viewer}");
                        await Task.Delay(random.Next(0, 2000), CancellationToken.None); // how long this viewer stays
                        Interlocked.Increment(ref _cycles);
                    }
                    catch (HttpRequestException)
                    {
                        Interlocked.Increment(ref _failed);
                    }
                }
            });
    }

    /// <summary>
    /// Clients that send their request and then never read, each for a while, one after the other
    /// in each slot; half in the firehose room, where the server must drop them once their outbox is full.
    /// </summary>
    private sealed class Stalled
    {
        private long _cycles;
        private long _dropped;

        public long Cycles => Volatile.Read(ref _cycles);
        public long Dropped => Volatile.Read(ref _dropped);

        public Task RunAsync(Uri server, string[] rooms, string firehose, int slots, (TimeSpan Least, TimeSpan Most) lifetime, CancellationToken stop) =>
            Parallel.ForEachAsync(Enumerable.Range(0, slots), new ParallelOptions { MaxDegreeOfParallelism = slots }, async (slot, _) =>
            {
                var random = new Random(1000 + slot);
                while (!stop.IsCancellationRequested)
                {
                    var room = slot % 2 == 0 ? firehose : rooms[random.Next(rooms.Length)];
                    using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
                    socket.Bind(new IPEndPoint(IPAddress.Parse($"127.0.0.{60 + slot % 16}"), 0));
                    await socket.ConnectAsync(IPAddress.Parse(server.Host), server.Port, CancellationToken.None);
                    await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /rooms/{room}/events HTTP/1.1\r\nHost: {server.Authority}\r\n\r\n"), SocketFlags.None);
                    var stay = lifetime.Least + (lifetime.Most - lifetime.Least) * random.NextDouble();
                    await Task.Delay(stay, stop).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // how long it hangs there without reading
                    if (EndedByServer(socket))
                    {
                        Interlocked.Increment(ref _dropped);
                    }
                    Interlocked.Increment(ref _cycles);
                }
            });

        /// <summary>Reads what is waiting without blocking: did the server end the stream (its end of file, or a reset)?</summary>
        private static bool EndedByServer(Socket socket)
        {
            socket.Blocking = false;
            var buffer = new byte[64 * 1024];
            for (var read = 0L; read < 256L << 20; )
            {
                var got = socket.Receive(buffer, 0, buffer.Length, SocketFlags.None, out var error);
                if (error == SocketError.WouldBlock)
                {
                    return false;
                }
                if (error != SocketError.Success || got == 0)
                {
                    return true;
                }
                read += got;
            }
            return false;
        }
    }

    /// <summary>
    /// Publishes to the rooms and remembers each room's last id: one in ten events of 16 KiB in the
    /// first <c>normal</c> rooms, every event of <see cref="FirehoseEventBytes"/> in the others.
    /// </summary>
    private sealed class Published(string[] rooms, int normal)
    {
        private static readonly string Large = new('x', 16 * 1024);
        private static readonly string Firehose = new('x', FirehoseEventBytes);

        private readonly long[] _lastIds = new long[rooms.Length];
        private readonly ConcurrentDictionary<HttpStatusCode, long> _failures = new();
        private long _total;
        private long _failed;

        public long Total => Volatile.Read(ref _total);
        public long Failed => Volatile.Read(ref _failed);

        /// <summary>The statuses of the failed publishes, as <c>: 429 x12, 503 x1</c> (empty if none failed).</summary>
        public string FailedStatuses => string.Concat(_failures.OrderBy(failure => failure.Key)
            .Select((failure, i) => $"{(i == 0 ? ": " : ", ")}{(int)failure.Key} x{failure.Value}"));

        public long LastId(int room) => Volatile.Read(ref _lastIds[room]);

        /// <summary>Fills every room's history with <paramref name="events"/> events (not counted in the total; failures are).</summary>
        public async Task FillAsync(HttpClient publisher, int events)
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, rooms.Length), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (r, _) =>
            {
                for (var k = 0; k < events; k++)
                {
                    await PublishAsync(publisher, r, k);
                }
            });
            _total = 0; // the soak counts what it publishes itself; failures count from the start
        }

        /// <summary>Publishes round-robin over rooms <paramref name="first"/> to <paramref name="first"/> + <paramref name="count"/> - 1, at a steady rate.</summary>
        public async Task RunAsync(HttpClient publisher, int first, int count, double rate, CancellationToken stop)
        {
            using var pace = new PeriodicTimer(TimeSpan.FromSeconds(1 / rate));
            for (var k = 0; !stop.IsCancellationRequested; k++)
            {
                await PublishAsync(publisher, first + k % count, k / count);
                await pace.WaitForNextTickAsync(CancellationToken.None);
            }
        }

        /// <summary>A refusal for the publish rate (the fill goes as fast as it can) waits for its Retry-After, as a real publisher would.</summary>
        private async Task PublishAsync(HttpClient publisher, int r, int k)
        {
            object data = r >= normal ? Firehose : k % 10 == 9 ? Large : new { k };
            HttpResponseMessage response;
            while ((response = await publisher.PostAsJsonAsync($"/rooms/{rooms[r]}/events", new { type = "soak", data }, CancellationToken.None))
                is { StatusCode: HttpStatusCode.TooManyRequests, Headers.RetryAfter.Delta: { } retryAfter })
            {
                response.Dispose();
                await Task.Delay(retryAfter);
            }
            using var answered = response;
            if (response.StatusCode == HttpStatusCode.Created)
            {
                var id = long.Parse((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!, CultureInfo.InvariantCulture);
                Volatile.Write(ref _lastIds[r], id);
                Interlocked.Increment(ref _total);
            }
            else
            {
                Interlocked.Increment(ref _failed);
                _failures.AddOrUpdate(response.StatusCode, 1, (_, n) => n + 1);
            }
        }
    }

    /// <summary>An uncounted reader of a room: its last count, and whether the feed ids came one by one, from 1 on.</summary>
    private sealed class FeedChecker : IAsyncDisposable
    {
        private Watcher _watcher = null!;
        private long _lastId;
        private long _delivered;
        private long _outOfOrder;
        private int _connections;

        public long LastId => Volatile.Read(ref _lastId);
        public long Delivered => Volatile.Read(ref _delivered);
        public long OutOfOrder => Volatile.Read(ref _outOfOrder);
        public int Connections => Volatile.Read(ref _connections);

        /// <summary>Opens the reader after the event <paramref name="lastId"/>, as a client that had it would.</summary>
        public static async Task<FeedChecker> OpenAsync(SseClients clients, string room, long lastId)
        {
            var checker = new FeedChecker { _lastId = lastId };
            checker._watcher = await clients.OpenAsync($"/rooms/{room}/events?count=false&lastEventId={lastId}", (item, _) => checker.On(item.EventType, item.EventId, item.Data));
            return checker;
        }

        private void On(string type, string? eventId, string data)
        {
            if (type == "presence")
            {
                Volatile.Write(ref _connections, Load.PresenceConnections(data));
                return;
            }
            if (!long.TryParse(eventId, CultureInfo.InvariantCulture, out var id) || id != _lastId + 1)
            {
                Interlocked.Increment(ref _outOfOrder); // a gap frame, a hole, or an event twice
            }
            Volatile.Write(ref _lastId, Math.Max(id, _lastId));
            Interlocked.Increment(ref _delivered);
        }

        public ValueTask DisposeAsync() => _watcher.DisposeAsync();
    }
}
