using System.Diagnostics;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;

namespace Presence.Bench;

/// <summary>A row measured on one server.</summary>
internal interface IMeasured
{
    string Server { get; }
}

internal sealed record HoldResult(string Server, int Connections, int Rooms, int Processes, double ConnectSeconds, double RssBeforeMb, double RssAfterMb, double BytesPerConnection) : IMeasured;

internal sealed record FanOutResult(string Server, int Watchers, int Events, double Rate, double BytesPerConnection,
    double P50Ms, double P99Ms, double MaxMs, double DeliveriesPerSecond, long Delivered, long Expected,
    double ServerCpuMicrosecondsPerDelivery, int Rounds = 1) : IMeasured
{
    /// <summary>Rounds of one server and room size summed up: each figure is the median of the rounds'.</summary>
    public static FanOutResult Median(IReadOnlyList<FanOutResult> rounds)
    {
        double Of(Func<FanOutResult, double> value) => Load.Median(rounds.Select(value));
        var first = rounds[0];
        return new FanOutResult(first.Server, first.Watchers, first.Events, first.Rate, Of(r => r.BytesPerConnection),
            Of(r => r.P50Ms), Of(r => r.P99Ms), Of(r => r.MaxMs), Of(r => r.DeliveriesPerSecond),
            rounds.Sum(r => r.Delivered), rounds.Sum(r => r.Expected), Of(r => r.ServerCpuMicrosecondsPerDelivery), rounds.Count);
    }
}

internal sealed record StormResult(string Server, int Joins, int Watchers, double StormSeconds, int MaxEventsPerWatcher,
    double MaxEventsPerWatcherPerSecond, double ExactAfterLastJoinMs) : IMeasured;

internal sealed record ChurnResult(string Server, double Seconds, int Slots, int Rooms, long Cycles, double ExactAfterMs,
    double RssBeforeMb, double RssAfterMb, int FilesBefore, int FilesAfter) : IMeasured;

internal sealed record LossResult(string Server, int Killed, double CountsDroppedAfterMs) : IMeasured;

internal sealed record PublishResult(int HistoryEvents, int HistoryEventBytes, int Publishes, double Rate, double P50Ms, double P99Ms, double MaxMs);

internal static class Scenarios
{
    /// <summary>N streams over R rooms, held by worker processes; the server's RSS per connection.</summary>
    public static async Task<HoldResult> HoldAsync(ServerProcess server, int connections, int rooms, int perProcess)
    {
        var prefix = $"hold-{Guid.NewGuid():N}-";
        await WarmUpAsync(server);
        var before = server.ResidentBytes();
        await using var held = await HeldRooms.OpenAsync([server], prefix, connections, rooms, perProcess);
        using var client = new HttpClient { BaseAddress = server.Address };
        var perRoom = HeldRooms.PerRoom(prefix, connections, rooms);
        await Load.WaitForCountsAsync(client, perRoom.Keys, room => perRoom[room], TimeSpan.FromMinutes(1));
        return held.Measured(server, before, server.ResidentBytes());
    }

    /// <summary>
    /// One room of S watchers (held by worker processes, spread over the servers); M events, published
    /// through the first server, each once the previous one has reached every watcher, and at most
    /// <paramref name="rate"/> a second: the latency is that of one event's fan-out, not of a backlog
    /// built up by publishing faster than the servers deliver. The first <paramref name="warmUpEvents"/>
    /// go the same way, without the pause, and are not measured: both ends have then compiled their
    /// hot paths (the tiered JIT optimizes a method after some 30 to 60 calls, and the publish path
    /// runs once per event), as a server that has been up for a while has. Memory and CPU are the
    /// servers' together.
    /// </summary>
    public static async Task<FanOutResult> FanOutAsync(string name, IReadOnlyList<ServerProcess> servers, int watchers, int perProcess,
        int warmUpEvents, int events, double rate)
    {
        var prefix = $"fanout-{Guid.NewGuid():N}-";
        var room = $"{prefix}0";
        var total = warmUpEvents + events;
        var processes = HeldRooms.ProcessesFor(watchers, perProcess);
        var lastArrival = new long[total];
        var deliveredPerEvent = new int[total];
        var workersWithEvent = new int[total];
        var everyoneHas = Enumerable.Range(0, total).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToArray();
        void OnWorkerLine(string[] line)
        {
            var k = int.Parse(line[1]) - 1;
            if (line[0] == "has" && Interlocked.Increment(ref workersWithEvent[k]) == processes)
            {
                everyoneHas[k].TrySetResult();
            }
            else if (line[0] == "tally")
            {
                Interlocked.Add(ref deliveredPerEvent[k], int.Parse(line[2]));
                Load.InterlockedMax(ref lastArrival[k], long.Parse(line[3]));
            }
        }

        foreach (var server in servers)
        {
            await WarmUpAsync(server);
        }
        var before = servers.Sum(server => server.ResidentBytes());
        var published = new long[total];
        double bytesPerConnection;
        TimeSpan cpu;
        await using (var held = await HeldRooms.OpenAsync(servers, prefix, watchers, rooms: 1, perProcess, total, OnWorkerLine))
        {
            using var publisher = Publisher(servers[0]);
            await Load.WaitForCountsAsync(publisher, [room], _ => watchers, TimeSpan.FromMinutes(1));
            bytesPerConnection = (servers.Sum(server => server.ResidentBytes()) - before) / (double)watchers;

            var cpuBefore = TimeSpan.Zero;
            using var pace = new PeriodicTimer(TimeSpan.FromSeconds(1 / rate));
            for (var k = 0; k < total; k++)
            {
                if (k == warmUpEvents)
                {
                    cpuBefore = CpuTime(servers);
                }
                published[k] = Stopwatch.GetTimestamp();
                (await publisher.PostAsJsonAsync($"/rooms/{room}/events", new { type = "tick", data = new { k } })).EnsureSuccessStatusCode();
                await Task.WhenAny(everyoneHas[k].Task, Task.Delay(TimeSpan.FromSeconds(10)));
                if (k >= warmUpEvents)
                {
                    await pace.WaitForNextTickAsync();
                }
            }
            cpu = CpuTime(servers) - cpuBefore;
        } // the workers' tallies are in once they are closed

        var measured = Enumerable.Range(warmUpEvents, events).ToList();
        var latencies = measured.Where(k => lastArrival[k] != 0)
            .Select(k => Load.Milliseconds(published[k], lastArrival[k])).Order().ToList();
        var seconds = Load.Milliseconds(published[warmUpEvents], measured.Max(k => lastArrival[k])) / 1000;
        var count = measured.Sum(k => (long)deliveredPerEvent[k]);
        return new FanOutResult(name, watchers, events, rate, bytesPerConnection,
            Load.Percentile(latencies, 50), Load.Percentile(latencies, 99), latencies.LastOrDefault(double.NaN),
            count / seconds, count, (long)watchers * events, cpu.TotalMicroseconds / count);
    }

    /// <summary>K clients join one room as fast as they can while W uncounted watchers listen.</summary>
    public static async Task<StormResult> StormAsync(ServerProcess server, int joins, int watchers)
    {
        var room = $"storm-{Guid.NewGuid():N}";
        var presenceEvents = new int[watchers];
        var lastCount = new int[watchers];
        using var clients = new SseClients(server.Address);
        var listeners = new Watcher[watchers];
        for (var w = 0; w < watchers; w++)
        {
            var index = w;
            listeners[w] = await clients.OpenAsync($"/rooms/{room}/events?count=false", (item, _) =>
            {
                if (item.EventType == "presence")
                {
                    Interlocked.Increment(ref presenceEvents[index]);
                    Volatile.Write(ref lastCount[index], Load.PresenceConnections(item.Data));
                }
            });
        }
        Array.Clear(presenceEvents);

        var storm = Stopwatch.StartNew();
        var joiners = await Load.OpenManyAsync(clients, joins, _ => $"/rooms/{room}/events", parallel: 500);
        var stormSeconds = storm.Elapsed.TotalSeconds;
        try
        {
            var exactAfter = Stopwatch.StartNew();
            bool Exact() => Enumerable.Range(0, watchers).All(w => Volatile.Read(ref lastCount[w]) == joins);
            while (!Exact() && exactAfter.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(5); // polling the watchers' last counts
            }
            var exactMs = Exact() ? exactAfter.Elapsed.TotalMilliseconds : double.NaN;
            var most = presenceEvents.Max();
            // A storm shorter than a second counts as one second: the leading and trailing events fall in it.
            return new StormResult(server.Name, joins, watchers, stormSeconds, most, most / Math.Max(stormSeconds, 1), exactMs);
        }
        finally
        {
            await Load.CloseAllAsync(joiners.Concat(listeners));
        }
    }

    /// <summary>Streams opening and closing continuously; then every count must be exact and nothing left over.</summary>
    public static async Task<ChurnResult> ChurnAsync(ServerProcess server, TimeSpan duration, int slots, int rooms)
    {
        var prefix = $"churn-{Guid.NewGuid():N}-";
        await WarmUpAsync(server);
        var (rssBefore, filesBefore) = (server.ResidentBytes(), server.OpenFiles());
        using var clients = new SseClients(server.Address);
        var cycles = 0L;
        var deadline = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, slots), new ParallelOptions { MaxDegreeOfParallelism = slots }, async (slot, _) =>
        {
            var random = new Random(slot);
            while (deadline.Elapsed < duration)
            {
                var stream = await clients.OpenAsync($"/rooms/{prefix}{random.Next(rooms)}/events");
                await Task.Delay(random.Next(0, 200)); // how long this viewer stays
                await stream.DisposeAsync();
                Interlocked.Increment(ref cycles);
            }
        });
        var exactMs = await Load.WaitForCountsAsync(clients.Any, Enumerable.Range(0, rooms).Select(r => $"{prefix}{r}"), _ => 0, TimeSpan.FromMinutes(1));
        await Task.Delay(TimeSpan.FromSeconds(2)); // let the server drop its closed sockets before counting them
        return new ChurnResult(server.Name, duration.TotalSeconds, slots, rooms, cycles, exactMs,
            rssBefore / 1e6, server.ResidentBytes() / 1e6, filesBefore, server.OpenFiles());
    }

    /// <summary>A process holding N streams is killed; how long until the room's count drops to 0.</summary>
    public static async Task<LossResult> LossAsync(ServerProcess server, int connections)
    {
        var prefix = $"loss-{Guid.NewGuid():N}-";
        var room = $"{prefix}0";
        var dropped = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var seenAll = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var clients = new SseClients(server.Address, firstSourceAddress: 100);
        await using var watcher = await clients.OpenAsync($"/rooms/{room}/events?count=false", (item, at) =>
        {
            if (item.EventType != "presence")
            {
                return;
            }
            var count = Load.PresenceConnections(item.Data);
            if (count == connections)
            {
                seenAll.TrySetResult();
            }
            else if (count == 0 && seenAll.Task.IsCompleted)
            {
                dropped.TrySetResult(at);
            }
        });
        var worker = await WorkerProcess.StartAsync([server.Address], prefix, rooms: 1, first: 0, connections, firstSource: 2);
        await using (worker)
        {
            await seenAll.Task.WaitAsync(TimeSpan.FromMinutes(1));
            var killedAt = Stopwatch.GetTimestamp();
            await worker.KillAsync();
            var at = await dropped.Task.WaitAsync(TimeSpan.FromMinutes(2));
            return new LossResult(server.Name, connections, Load.Milliseconds(killedAt, at));
        }
    }

    /// <summary>
    /// Publishes small events one after the other, at most <paramref name="rate"/> a second, into a
    /// room whose history first gets <paramref name="historyEvents"/> events of <paramref name="historyBytes"/>
    /// bytes of data each; the time from sending a publish to its <c>201</c>. The first
    /// <paramref name="warmUpEvents"/> go to another room, unmeasured, so that the publish path is compiled.
    /// </summary>
    public static async Task<PublishResult> PublishAsync(ServerProcess server, int warmUpEvents, int publishes, double rate, int historyEvents, int historyBytes)
    {
        var room = $"publish-{Guid.NewGuid():N}";
        using var publisher = Publisher(server);
        for (var k = 0; k < warmUpEvents; k++)
        {
            (await publisher.PostAsJsonAsync($"/rooms/{room}-warm-up/events", new { type = "tick", data = new { k } })).EnsureSuccessStatusCode();
        }
        var large = new string('x', historyBytes - 2); // a JSON string of that many bytes, quotes included
        for (var k = 0; k < historyEvents; k++)
        {
            (await publisher.PostAsJsonAsync($"/rooms/{room}/events", new { type = "filler", data = large })).EnsureSuccessStatusCode();
        }

        var latencies = new List<double>(publishes);
        using var pace = new PeriodicTimer(TimeSpan.FromSeconds(1 / rate));
        for (var k = 0; k < publishes; k++)
        {
            var sent = Stopwatch.GetTimestamp();
            (await publisher.PostAsJsonAsync($"/rooms/{room}/events", new { type = "tick", data = new { k } })).EnsureSuccessStatusCode();
            latencies.Add(Load.Milliseconds(sent, Stopwatch.GetTimestamp()));
            await pace.WaitForNextTickAsync();
        }
        latencies.Sort();
        return new PublishResult(historyEvents, historyBytes, publishes, rate,
            Load.Percentile(latencies, 50), Load.Percentile(latencies, 99), latencies[^1]);
    }

    private static TimeSpan CpuTime(IEnumerable<ServerProcess> servers) =>
        servers.Aggregate(TimeSpan.Zero, (sum, server) => sum + server.CpuTime());

    public static HttpClient Publisher(ServerProcess server)
    {
        var client = new HttpClient { BaseAddress = server.Address };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServerProcess.PublishKey);
        return client;
    }

    /// <summary>Runs every code path once so that RSS is measured after JIT and first allocations.</summary>
    public static async Task WarmUpAsync(ServerProcess server)
    {
        using var clients = new SseClients(server.Address, sourceAddresses: 1, firstSourceAddress: 250);
        var streams = await Load.OpenManyAsync(clients, 50, i => $"/rooms/warm-up-{i % 5}/events");
        using var publisher = Publisher(server);
        (await publisher.PostAsJsonAsync("/rooms/warm-up-0/events", new { type = "tick", data = 0 })).EnsureSuccessStatusCode();
        await Load.CloseAllAsync(streams);
        await Load.WaitForCountsAsync(clients.Any, Enumerable.Range(0, 5).Select(i => $"warm-up-{i}"), _ => 0, TimeSpan.FromMinutes(1));
    }
}
