using System.Diagnostics;

namespace Presence.Cluster.Tests;

/// <summary>
/// A real process of the cluster (redis-server, a silo, a front end). Its output goes to a log file
/// (kept for a failed run), each line with the time it was read, and can be awaited line by line.
/// </summary>
internal sealed class NodeProcess : IAsyncDisposable
{
    private static readonly string LogDirectory = Directory.CreateTempSubdirectory("presence-cluster-tests-").FullName;

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _gate = new();
    private readonly List<string> _lines = [];
    private readonly List<(string Text, TaskCompletionSource Seen)> _awaited = [];

    private NodeProcess(string name, Process process)
    {
        Name = name;
        _process = process;
        LogPath = Path.Combine(LogDirectory, $"{name}-{process.Id}.log");
        _log = new StreamWriter(LogPath) { AutoFlush = true };
    }

    public string Name { get; }

    public string LogPath { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public static NodeProcess Start(string name, string fileName, IEnumerable<string> arguments, string workingDirectory)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        // The test's settings only: nothing from the environment the tests run in (a
        // ConnectionStrings__Redis exported for scripts/cluster.sh, say).
        foreach (var inherited in start.Environment.Keys.Where(key => key.Contains("__", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(inherited);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var node = new NodeProcess(name, process);
        process.OutputDataReceived += (_, e) => node.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => node.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>Completes when the process has written a line containing <paramref name="text"/>; fails if it exits first.</summary>
    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_lines.Any(line => line.Contains(text, StringComparison.Ordinal)))
            {
                return;
            }
            _awaited.Add((text, seen));
        }
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(seen.Task, exited, Task.Delay(timeout));
        if (first != seen.Task)
        {
            throw new InvalidOperationException(first == exited
                ? $"{Name} exited (code {_process.ExitCode}) before writing '{text}'; see {LogPath}"
                : $"{Name} did not write '{text}' within {timeout.TotalSeconds} s; see {LogPath}");
        }
    }

    /// <summary>Everything the process has written so far, stdout and stderr.</summary>
    public IReadOnlyList<string> Lines
    {
        get { lock (_gate) { return [.. _lines]; } }
    }

    /// <summary>Waits for the process to exit by itself; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    /// <summary>SIGKILL: no goodbye to anyone.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, then waits for the exit.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        Signals.Send(_process.Id, Signals.Term);
        await _process.WaitForExitAsync().WaitAsync(timeout);
    }

    public void Signal(int signal) => Signals.Send(_process.Id, signal);


    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_gate)
        {
            _log.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
            _lines.Add(line);
            foreach (var (text, seen) in _awaited.Where(awaited => line.Contains(awaited.Text, StringComparison.Ordinal)).ToList())
            {
                seen.TrySetResult();
                _awaited.Remove((text, seen));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        lock (_gate)
        {
            _log.Dispose();
        }
    }
}
