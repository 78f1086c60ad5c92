using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Presence.Bench;

/// <summary>
/// A process the bench runs, on loopback: a server under test (the service, the baseline, a
/// client-mode front end) or a part of a cluster (redis-server, a silo). Its output goes to a log
/// file of its own; lines on standard error are also shown.
/// </summary>
internal sealed class ServerProcess : IAsyncDisposable
{
    public const string PublishKey = "bench-publish-key";

    public static readonly string LogDirectory = Path.Combine(Path.GetTempPath(), "presence-bench-logs");
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Lock _gate = new();
    private readonly string? _readyLine;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _closed;

    private ServerProcess(string name, Process process, Uri address, string? readyLine)
    {
        Name = name;
        _process = process;
        Address = address;
        _readyLine = readyLine;
        Directory.CreateDirectory(LogDirectory);
        LogPath = Path.Combine(LogDirectory, $"{name}-{process.Id}.log");
        _log = new StreamWriter(LogPath) { AutoFlush = true };
    }

    public string Name { get; }

    /// <summary>Where it listens: <c>http://</c> for servers under test, <c>redis://</c> or <c>tcp://</c> (a silo's port) for the rest.</summary>
    public Uri Address { get; }

    public string LogPath { get; }

    public int ProcessId => _process.Id;

    /// <summary>An HTTP server (<paramref name="dll"/>, run by <c>dotnet</c>), ready once <c>GET /rooms/ready</c> answers.</summary>
    public static async Task<ServerProcess> StartAsync(string name, string dll, IEnumerable<string> settings)
    {
        var port = FreePort();
        var server = Start(name, "dotnet", [dll, .. settings,
            $"--Urls=http://127.0.0.1:{port}",
            $"--Orleans:SiloPort={FreePort()}",
            $"--Orleans:GatewayPort={FreePort()}",
            $"--Feed:PublishKeys:0={PublishKey}",
            "--Logging:LogLevel:Default=Warning",
        ], Path.GetDirectoryName(dll)!, new Uri($"http://127.0.0.1:{port}"), readyLine: null);
        return await ReadyAsync(server, server.WaitUntilAnswersAsync());
    }

    /// <summary>Any other process, ready once it has written a line containing <paramref name="readyLine"/>.</summary>
    public static async Task<ServerProcess> StartAsync(string name, string fileName, IEnumerable<string> arguments, string workingDirectory,
        Uri address, string readyLine)
    {
        var server = Start(name, fileName, arguments, workingDirectory, address, readyLine);
        return await ReadyAsync(server, server.WaitForReadyLineAsync());
    }

    /// <summary>The server once <paramref name="ready"/> completes; if it fails, the process is ended.</summary>
    private static async Task<ServerProcess> ReadyAsync(ServerProcess server, Task ready)
    {
        try
        {
            await ready;
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private static ServerProcess Start(string name, string fileName, IEnumerable<string> arguments, string workingDirectory, Uri address,
        string? readyLine)
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
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {fileName}");
        var server = new ServerProcess(name, process, address, readyLine); // waiting for the line before any is read
        process.OutputDataReceived += (_, e) => server.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            server.OnLine(e.Data);
            if (e.Data is not null)
            {
                Console.Error.WriteLine($"[{name}] {e.Data}");
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Resident set size of the server process, in bytes.</summary>
    public long ResidentBytes() => ReadStatusKilobytes("VmRSS") * 1024;

    /// <summary>CPU time the server process has used so far, user and system.</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    public int OpenFiles() => Directory.GetFiles($"/proc/{_process.Id}/fd").Length;

    /// <summary>How many lines of its log so far contain <paramref name="text"/>.</summary>
    public int LogLines(string text)
    {
        lock (_gate)
        {
            return File.ReadLines(LogPath).Count(line => line.Contains(text, StringComparison.Ordinal));
        }
    }

    /// <summary>The open files that are sockets.</summary>
    public int OpenSockets() => Directory.GetFiles($"/proc/{_process.Id}/fd").Count(IsSocket);

    private static bool IsSocket(string fd)
    {
        try
        {
            return File.ResolveLinkTarget(fd, returnFinalTarget: false)?.FullName.Contains("socket:[", StringComparison.Ordinal) == true;
        }
        catch (IOException)
        {
            return false; // closed since the directory was listed
        }
    }

    /// <summary>SIGKILL: no goodbye to anyone.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    private long ReadStatusKilobytes(string field)
    {
        var line = File.ReadLines($"/proc/{_process.Id}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]);
    }

    private void OnLine(string? line)
    {
        lock (_gate)
        {
            if (line is null || _closed)
            {
                return;
            }
            _log.WriteLine(line);
        }
        if (_readyLine is not null && line.Contains(_readyLine, StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
    }

    private async Task WaitForReadyLineAsync()
    {
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(_ready.Task, exited, Task.Delay(StartTimeout));
        if (first != _ready.Task)
        {
            throw new InvalidOperationException(first == exited
                ? $"{Name} exited with code {_process.ExitCode} before writing '{_readyLine}'; see {LogPath}"
                : $"{Name} did not write '{_readyLine}' within {StartTimeout.TotalSeconds} s; see {LogPath}");
        }
    }

    private async Task WaitUntilAnswersAsync()
    {
        using var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode}; see {LogPath}");
            }
            try
            {
                using var response = await client.GetAsync("/rooms/ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }
            await Task.Delay(200); // polling a process that is starting up
        }
        throw new TimeoutException($"{Name} did not answer within {StartTimeout.TotalSeconds} s; see {LogPath}");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync();
        _process.Dispose();
        lock (_gate)
        {
            _closed = true;
            _log.Dispose();
        }
    }
}
