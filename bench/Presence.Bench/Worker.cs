using System.Diagnostics;

namespace Presence.Bench;

/// <summary>
/// Another bench process holding event streams: one process can only hold about 19,900 sockets,
/// and an abrupt client loss needs a process to kill.
/// Arguments: <c>worker &lt;servers&gt; &lt;room prefix&gt; &lt;rooms&gt; &lt;first index&gt; &lt;count&gt; &lt;first source address&gt; &lt;events&gt; [tolerant]</c>:
/// stream i (from first index on) goes to room i mod rooms on server i mod servers (a comma-separated list).
/// Prints <c>ready &lt;ms&gt;</c> once every stream is open (its first event arrived), then holds them until
/// standard input closes; <c>tolerant</c>, it tries each stream once, holds those the server accepted
/// and prints the outcomes on the ready line: <c>ready &lt;ms&gt; 200=&lt;n&gt; 503=&lt;n&gt; error=&lt;n&gt;</c>. Held
/// streams are <see cref="HeldStream"/>s. With events &gt; 0 it tallies feed
/// event ids 1 to events: prints <c>has &lt;id&gt;</c> once every one of its streams has had the event, and,
/// when standard input closes, <c>tally &lt;id&gt; &lt;deliveries&gt; &lt;last arrival timestamp&gt;</c> for each id.
/// </summary>
internal static class Worker
{
    public static async Task<int> RunAsync(string[] args)
    {
        var servers = args[0].Split(',').Select(server => new Uri(server)).ToArray();
        var (prefix, rooms, first, count, firstSource, events) =
            (args[1], int.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4]), int.Parse(args[5]), int.Parse(args[6]));
        var lastArrival = new long[events];
        var delivered = new int[events];
        void OnEventId(long id, long at)
        {
            if (id >= 1 && id <= events)
            {
                Load.InterlockedMax(ref lastArrival[id - 1], at);
                if (Interlocked.Increment(ref delivered[id - 1]) == count)
                {
                    Console.WriteLine($"has {id}");
                }
            }
        }

        (Uri, string) Target(int i) => (servers[(first + i) % servers.Length], $"/rooms/{prefix}{(first + i) % rooms}/events");
        var started = Stopwatch.StartNew();
        HeldStream[] streams;
        var outcomes = "";
        if (args is [.., "tolerant"])
        {
            (streams, var tally) = await HeldStream.TryOpenManyAsync(count, Target, firstSource);
            outcomes = string.Concat(tally.Select(outcome => $" {outcome.Key}={outcome.Value}"));
        }
        else
        {
            streams = await HeldStream.OpenManyAsync(count, Target, firstSource, events > 0 ? OnEventId : null);
        }
        Console.WriteLine($"ready {started.ElapsedMilliseconds}{outcomes}");
        await Console.In.ReadToEndAsync();
        for (var k = 0; k < events; k++)
        {
            Console.WriteLine($"tally {k + 1} {Volatile.Read(ref delivered[k])} {Volatile.Read(ref lastArrival[k])}");
        }
        await Load.CloseAllAsync(streams);
        return 0;
    }
}

/// <summary>A worker process seen from the bench.</summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Task _reading;

    private WorkerProcess(Process process, string[] ready, Action<string[]> onLine)
    {
        _process = process;
        Outcomes = ready.Skip(2).Select(outcome => outcome.Split('=')).ToDictionary(pair => pair[0], pair => int.Parse(pair[1]));
        _reading = ReadAsync(onLine);
    }

    /// <summary>A tolerant worker's tally of the answers it got: how many 200s, 503s, failed connections.</summary>
    public Dictionary<string, int> Outcomes { get; }

    public static async Task<WorkerProcess> StartAsync(IReadOnlyList<Uri> servers, string roomPrefix, int rooms, int first, int count, int firstSource,
        int events = 0, Action<string[]>? onLine = null, bool tolerant = false)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { typeof(Worker).Assembly.Location, "worker", string.Join(',', servers), roomPrefix,
                     rooms.ToString(), first.ToString(), count.ToString(), firstSource.ToString(), events.ToString(), tolerant ? "tolerant" : "" })
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start a worker");
        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(5));
            if (line?.StartsWith("ready ", StringComparison.Ordinal) != true)
            {
                throw new InvalidOperationException($"a worker ended before its streams were open: '{line}'");
            }
        }
        catch
        {
            process.Kill();
            process.Dispose();
            throw;
        }
        return new WorkerProcess(process, line.Split(' '), onLine ?? (_ => { }));
    }

    private async Task ReadAsync(Action<string[]> onLine)
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            onLine(line.Split(' '));
        }
    }

    /// <summary>Kills the worker: its streams end without a close, as when a client's machine dies.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>Closes its standard input and waits until it has closed its streams, and its last lines are read.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.StandardInput.Close();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        }
        await _reading;
        _process.Dispose();
    }
}

/// <summary>
/// N streams over R rooms, held by as many workers as it takes to hold at most a given number each
/// (every one from source addresses of its own): stream i goes to room <c>{prefix}{i mod R}</c> on
/// server i mod S.
/// </summary>
internal sealed class HeldRooms : IAsyncDisposable
{
    private readonly IReadOnlyList<ServerProcess> _servers;
    private readonly WorkerProcess[] _workers;

    private HeldRooms(IReadOnlyList<ServerProcess> servers, int connections, int rooms, WorkerProcess[] workers, double connectSeconds)
    {
        _servers = servers;
        _workers = workers;
        Connections = connections;
        Rooms = rooms;
        ConnectSeconds = connectSeconds;
    }

    public int Connections { get; }

    public int Rooms { get; }

    public int Processes => _workers.Length;

    /// <summary>From the first worker's start until every stream had its first event.</summary>
    public double ConnectSeconds { get; }

    /// <summary>
    /// Completes once every stream is open (<paramref name="tolerant"/>: once each was tried, see
    /// <see cref="Outcomes"/>). With <paramref name="events"/> &gt; 0 the workers tally
    /// feed event ids (see <see cref="Worker"/>); <paramref name="onLine"/> gets their lines after
    /// <c>ready</c>, split at spaces.
    /// </summary>
    public static async Task<HeldRooms> OpenAsync(IReadOnlyList<ServerProcess> servers, string prefix, int connections, int rooms, int perProcess,
        int events = 0, Action<string[]>? onLine = null, bool tolerant = false)
    {
        var addresses = servers.Select(server => server.Address).ToList();
        var started = Stopwatch.StartNew();
        var starting = Enumerable.Range(0, ProcessesFor(connections, perProcess)).Select(p => WorkerProcess.StartAsync(addresses, prefix, rooms,
            first: p * perProcess, Math.Min(perProcess, connections - p * perProcess), firstSource: 2 + p * HeldStream.SourceAddresses, events, onLine,
            tolerant)).ToList();
        try
        {
            var workers = await Task.WhenAll(starting);
            return new HeldRooms(servers, connections, rooms, workers, started.Elapsed.TotalSeconds);
        }
        catch
        {
            foreach (var worker in starting.Where(start => start.IsCompletedSuccessfully))
            {
                await worker.Result.KillAsync();
            }
            throw;
        }
    }

    /// <summary>Tolerant workers' tallies of the answers they got, summed.</summary>
    public Dictionary<string, int> Outcomes => _workers.SelectMany(worker => worker.Outcomes)
        .GroupBy(outcome => outcome.Key, outcome => outcome.Value).ToDictionary(g => g.Key, g => g.Sum());

    public static int ProcessesFor(int connections, int perProcess) => (connections + perProcess - 1) / perProcess;

    /// <summary>How many streams each room holds, by room name.</summary>
    public static Dictionary<string, int> PerRoom(string prefix, int connections, int rooms) =>
        Enumerable.Range(0, connections).GroupBy(i => i % rooms).ToDictionary(g => $"{prefix}{g.Key}", g => g.Count());

    /// <summary>The server's row: its streams and its RSS after minus before, per stream.</summary>
    public HoldResult Measured(ServerProcess server, long rssBefore, long rssAfter)
    {
        var index = _servers.ToList().IndexOf(server);
        var held = Enumerable.Range(0, Connections).Count(i => i % _servers.Count == index);
        return new HoldResult(server.Name, held, Rooms, Processes, ConnectSeconds, rssBefore / 1e6, rssAfter / 1e6, (rssAfter - rssBefore) / (double)held);
    }

    /// <summary>Closes every stream; the workers' last lines have been handed on when this completes.</summary>
    public async ValueTask DisposeAsync() => await Load.CloseAllAsync(_workers);
}
