using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;
using Presence.Grains;
using Presence.WebFrontend.Tests;

namespace Presence.Cluster.Tests;

/// <summary>A silo process and the ports it was started on (its HTTP port serves <c>/metrics</c> and <c>/dashboard</c>).</summary>
internal sealed record SiloNode(NodeProcess Process, int SiloPort, int GatewayPort, int HttpPort);

/// <summary>A client-mode front end process and an HTTP client for it.</summary>
internal sealed record FrontEndNode(NodeProcess Process, HttpClient Http);

/// <summary>
/// Cluster mode as users run it, on this machine: a real redis-server, silo processes and
/// client-mode front-end processes started from the build output with the documented settings.
/// </summary>
internal sealed class ProcessCluster : IAsyncDisposable
{
    public const string PublishKey = "cluster-test-key";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly string[] _settings;
    private readonly List<FrontEndNode> _allFrontEnds = [];
    private IHost? _inspector;

    private ProcessCluster(NodeProcess redis, int redisPort, string[] settings)
    {
        Redis = redis;
        RedisPort = redisPort;
        _settings = settings;
    }

    public NodeProcess Redis { get; }

    public int RedisPort { get; }

    public List<SiloNode> Silos { get; } = [];

    public List<FrontEndNode> FrontEnds { get; } = [];

    /// <summary>Redis, then the silos, then the front ends; <paramref name="settings"/> (<c>Key=Value</c>) go to every silo and front end.</summary>
    public static async Task<ProcessCluster> StartAsync(int silos, int frontEnds, params string[] settings)
    {
        var redisPort = LoopbackServer.FreePort();
        var redis = NodeProcess.Start("redis", "redis-server",
            ["--port", redisPort.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], Path.GetTempPath());
        await redis.WaitForOutputAsync("Ready to accept connections", StartTimeout);

        var cluster = new ProcessCluster(redis, redisPort, settings);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, silos).Select(_ => cluster.StartSiloAsync()));
            await Task.WhenAll(Enumerable.Range(0, frontEnds).Select(_ => cluster.StartFrontEndAsync()));
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async Task<SiloNode> StartSiloAsync()
    {
        var (siloPort, gatewayPort, httpPort) = (LoopbackServer.FreePort(), LoopbackServer.FreePort(), LoopbackServer.FreePort());
        var process = Start("silo", Build.Silo,
            [$"Orleans:SiloPort={siloPort}", $"Orleans:GatewayPort={gatewayPort}", $"Dashboard:Port={httpPort}"]);
        var silo = new SiloNode(process, siloPort, gatewayPort, httpPort);
        lock (Silos)
        {
            Silos.Add(silo);
        }
        await process.WaitForOutputAsync("Application started", StartTimeout);
        return silo;
    }

    /// <summary>A front end on <paramref name="port"/> (one that was stopped, say), or on a free port.</summary>
    public async Task<FrontEndNode> StartFrontEndAsync(int? port = null)
    {
        port ??= LoopbackServer.FreePort();
        var process = Start("frontend", Build.WebFrontend,
            ["Orleans:Mode=Client", $"Urls=http://127.0.0.1:{port}", $"Feed:PublishKeys:0={PublishKey}"]);
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = Timeout.InfiniteTimeSpan };
        http.DefaultRequestHeaders.Authorization = new("Bearer", PublishKey);
        var frontEnd = new FrontEndNode(process, http);
        lock (FrontEnds)
        {
            FrontEnds.Add(frontEnd);
            _allFrontEnds.Add(frontEnd);
        }
        await process.WaitForOutputAsync("Application started", StartTimeout);
        return frontEnd;
    }

    /// <summary>Kills (SIGKILL) or stops (SIGTERM) a silo and forgets it.</summary>
    public async Task RemoveSiloAsync(SiloNode silo, bool kill)
    {
        await (kill ? silo.Process.KillAsync() : silo.Process.StopAsync(TimeSpan.FromSeconds(30)));
        lock (Silos)
        {
            Silos.Remove(silo);
        }
    }

    public async Task RemoveFrontEndAsync(FrontEndNode frontEnd, bool kill)
    {
        await (kill ? frontEnd.Process.KillAsync() : frontEnd.Process.StopAsync(TimeSpan.FromSeconds(30)));
        lock (FrontEnds)
        {
            FrontEnds.Remove(frontEnd);
        }
    }

    /// <summary>The silo that hosts the activation of the given grain, asked of the cluster's management grain.</summary>
    public async Task<SiloNode> SiloHostingAsync(Type grainClass, string key)
    {
        var management = (await InspectorAsync()).Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);
        var activations = await management.GetDetailedGrainStatistics();
        // GrainType reads "Namespace.Class,Assembly".
        var address = activations.Single(activation =>
            activation.GrainType.StartsWith(grainClass.FullName + ",", StringComparison.Ordinal) && activation.GrainId.Key.ToString() == key).SiloAddress;
        lock (Silos)
        {
            return Silos.Single(silo => silo.SiloPort == address.Endpoint.Port);
        }
    }

    private async Task<IHost> InspectorAsync()
    {
        if (_inspector is null)
        {
            var builder = Host.CreateApplicationBuilder();
            builder.Configuration[$"ConnectionStrings:{PresenceCluster.RedisConnectionName}"] = RedisConnection;
            builder.UseOrleansClient(client => client.UseRedisPresenceCluster(builder.Configuration));
            _inspector = builder.Build();
            await _inspector.StartAsync();
        }
        return _inspector;
    }

    private string RedisConnection => $"127.0.0.1:{RedisPort}";

    private NodeProcess Start(string name, string dll, string[] settings) =>
        NodeProcess.Start(name, "dotnet",
            [dll, $"--ConnectionStrings:Redis={RedisConnection}", .. settings.Concat(_settings).Select(setting => "--" + setting)],
            Path.GetDirectoryName(dll)!);

    public async ValueTask DisposeAsync()
    {
        if (_inspector is not null)
        {
            await _inspector.StopAsync();
            _inspector.Dispose();
        }
        foreach (var frontEnd in _allFrontEnds)
        {
            frontEnd.Http.Dispose();
            await frontEnd.Process.DisposeAsync();
        }
        foreach (var silo in Silos)
        {
            await silo.Process.DisposeAsync();
        }
        await Redis.DisposeAsync();
    }
}

/// <summary>Where the build put the silo and the front end, in the configuration these tests were built in.</summary>
internal static class Build
{
    private static readonly string TestOutput = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
    private static readonly string Configuration = Path.GetFileName(Path.GetDirectoryName(TestOutput))!;
    private static readonly string Framework = Path.GetFileName(TestOutput);
    private static readonly string RepositoryRoot = FindRepositoryRoot();

    public static string Silo => Output("Silo");

    public static string WebFrontend => Output("WebFrontend");

    private static string Output(string project) =>
        Path.Combine(RepositoryRoot, "src", project, "bin", Configuration, Framework, $"Presence.{project}.dll");

    private static string FindRepositoryRoot()
    {
        var directory = new DirectoryInfo(TestOutput);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Presence.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException($"no Presence.sln above {TestOutput}");
    }
}
