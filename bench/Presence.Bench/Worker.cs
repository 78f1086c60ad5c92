using System.Diagnostics;

namespace Presence.Bench;

/// <summary>
/// Another bench process holding event streams: one process can only hold about 19,900 sockets,
/// and an abrupt client loss needs a process to kill.
/// Arguments: <c>worker &lt;server&gt; &lt;room prefix&gt; &lt;rooms&gt; &lt;first index&gt; &lt;count&gt; &lt;first source address&gt;</c>:
/// stream i (from first index on) goes to room i mod rooms.
/// Prints <c>ready &lt;ms&gt;</c> once every stream is open (its first event arrived), then holds them until
/// standard input closes. The streams are <see cref="HeldStream"/>s.
/// </summary>
internal static class Worker
{
    public static async Task<int> RunAsync(string[] args)
    {
        var (server, prefix, rooms, first, count, firstSource) =
            (new Uri(args[0]), args[1], int.Parse(args[2]), int.Parse(args[3]), int.Parse(args[4]), int.Parse(args[5]));
        var started = Stopwatch.StartNew();
        var streams = await HeldStream.OpenManyAsync(server, count, i => $"/rooms/{prefix}{(first + i) % rooms}/events", firstSource);
        Console.WriteLine($"ready {started.ElapsedMilliseconds}");
        await Console.In.ReadToEndAsync();
        await Load.CloseAllAsync(streams);
        return 0;
    }
}

/// <summary>A worker process seen from the bench.</summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;

    private WorkerProcess(Process process) => _process = process;

    public static async Task<(WorkerProcess Worker, long ConnectMilliseconds)> StartAsync(
        Uri server, string roomPrefix, int rooms, int first, int count, int firstSource)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { typeof(Worker).Assembly.Location, "worker", server.ToString(), roomPrefix,
                     rooms.ToString(), first.ToString(), count.ToString(), firstSource.ToString() })
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start a worker");
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(3))
            ?? throw new InvalidOperationException($"worker exited with code {process.ExitCode}");
        return (new WorkerProcess(process), long.Parse(line["ready ".Length..]));
    }

    /// <summary>Kills the worker: its streams end without a close, as when a client's machine dies.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.StandardInput.Close();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        }
        _process.Dispose();
    }
}
