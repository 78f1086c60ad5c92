using System.Diagnostics;
using Presence.WebFrontend.Tests;
using Xunit.Abstractions;

namespace Presence.Cluster.Tests;

/// <summary>
/// A client whose packets stop arriving, with no FIN or RST, is dropped from the counts within
/// <c>Sse:KeepAliveSeconds</c> + <c>Sse:DeadClientSeconds</c>. The client is curl in a network
/// namespace of its own, talking to a real front-end process over a veth pair whose namespace end
/// then drops every packet. In the cluster tests' collection: its bounds are real time.
/// </summary>
[Collection(nameof(ClusterTests))]
public sealed class SilentClientTests(ITestOutputHelper output)
{
    private const double KeepAliveSeconds = 1;
    private const double DeadClientSeconds = 3;
    private const string Room = "silent";

    /// <summary>The promise, plus time for the leave to reach the grain and the new count the watcher.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(KeepAliveSeconds + DeadClientSeconds + 3);

    [Fact]
    public async Task ClientGoneSilent_StaysCountedWhileItsKernelAnswers_DroppedWithinTheBoundOnceItsPacketsVanish()
    {
        await using var network = await NetworkNamespace.CreateAsync();
        var url = $"http://{network.HostAddress}:{LoopbackServer.FreePort()}";
        await using var frontEnd = NodeProcess.Start("frontend", "dotnet",
            [
                Build.WebFrontend, $"--Urls={url}",
                $"--Orleans:SiloPort={LoopbackServer.FreePort()}", $"--Orleans:GatewayPort={LoopbackServer.FreePort()}",
                "--Presence:PublishIntervalMilliseconds=50",
                $"--Sse:KeepAliveSeconds={KeepAliveSeconds}", $"--Sse:DeadClientSeconds={DeadClientSeconds}",
            ],
            Path.GetDirectoryName(Build.WebFrontend)!);
        await frontEnd.WaitForOutputAsync("Application started", TimeSpan.FromSeconds(60));
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = Timeout.InfiniteTimeSpan };
        // Counted itself, from this machine's side (over loopback, untouched by the cut).
        await using var watcher = await Watcher.OpenAsync(http, Room);
        // After its request the client never sends a byte of its own: only its kernel's ACKs.
        await using var client = network.Start("client", "curl", "--silent", "--no-buffer", $"{url}/rooms/{Room}/events");
        await client.WaitForOutputAsync("event: presence", TimeSpan.FromSeconds(30));
        await watcher.WaitUntilAsync(w => w.LatestConnections == 2, TimeSpan.FromSeconds(10));

        // Silent but alive: its kernel acknowledges the keep-alives, and it stays past the bound.
        var keepAlivesBefore = KeepAlives(client);
        await Assert.ThrowsAsync<TimeoutException>(() => watcher.WaitUntilAsync(w => w.LatestConnections != 2, Bound));
        Assert.True(KeepAlives(client) - keepAlivesBefore >= (KeepAliveSeconds + DeadClientSeconds) / KeepAliveSeconds,
            $"the client was sent {KeepAlives(client) - keepAlivesBefore} keep-alives in {Bound.TotalSeconds} s");

        await network.DropAllPacketsAsync();
        var sinceCut = Stopwatch.StartNew();
        await watcher.WaitUntilAsync(w => w.LatestConnections == 1, Bound);
        output.WriteLine($"dropped from the counts {sinceCut.Elapsed.TotalSeconds:0.00} s after its packets stopped (bound {Bound.TotalSeconds} s)");
        Assert.False(client.HasExited, "the client ended; it was only to go silent");
        // Its connection timed out (ETIMEDOUT): the normal end of a stream, not an unhandled exception.
        var unhandled = await Assert.ThrowsAsync<InvalidOperationException>(() => frontEnd.WaitForOutputAsync("An unhandled exception", TimeSpan.FromSeconds(2)));
        Assert.Contains("did not write", unhandled.Message);
    }

    private static int KeepAlives(NodeProcess client) => client.Lines.Count(line => line == ": keep-alive");
}
