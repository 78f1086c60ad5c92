using System.Text.Json;
using Presence.Bench;

namespace Presence.WebFrontend.Tests;

/// <summary>
/// The benchmark in smoke mode (small sizes, seconds), so it never rots. It starts the service,
/// the baseline and worker processes of its own. The figures are not judged here: they are
/// benchmark results, not unit-test assertions; only that every scenario ran to a complete result.
/// </summary>
public sealed class BenchSmokeTests
{
    [Fact]
    public async Task SmokeRun_MeasuresEveryScenario_OnTheServiceAndTheBaseline()
    {
        var output = Directory.CreateTempSubdirectory("presence-bench-smoke-").FullName;

        var exitCode = await Bench.Bench.Main(["--smoke", "--out", output]);

        Assert.Equal(0, exitCode);
        using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "results.json")));
        var root = results.RootElement;
        string[] servers = [Bench.Bench.Service, Bench.Bench.Baseline];
        foreach (var scenario in new[] { "hold", "fanOut", "storm", "churn", "loss" })
        {
            Assert.Equal(servers, root.GetProperty(scenario).EnumerateArray().Select(r => r.GetProperty("server").GetString()).Distinct());
        }
        Assert.All(root.GetProperty("hold").EnumerateArray(), r => Assert.True(r.GetProperty("bytesPerConnection").GetDouble() > 0));
        Assert.All(root.GetProperty("fanOut").EnumerateArray(), r => Assert.Equal(r.GetProperty("expected").GetInt64(), r.GetProperty("delivered").GetInt64()));
        Assert.All(root.GetProperty("storm").EnumerateArray(), r => Assert.Equal(JsonValueKind.Number, r.GetProperty("exactAfterLastJoinMs").ValueKind));
        Assert.All(root.GetProperty("churn").EnumerateArray(), r => Assert.True(r.GetProperty("cycles").GetInt64() > 0));
        Assert.All(root.GetProperty("loss").EnumerateArray(), r => Assert.Equal(JsonValueKind.Number, r.GetProperty("countsDroppedAfterMs").ValueKind));
        Assert.NotEmpty(root.GetProperty("targets").EnumerateArray());
        Assert.StartsWith("<svg", await File.ReadAllTextAsync(Path.Combine(output, "fanout.svg")));
        Assert.Contains("**fan-out**", await File.ReadAllTextAsync(Path.Combine(output, "results.md")));
    }

    [Fact]
    public async Task SmokeSoak_EndsWithExactCounts_EveryEventRead_AndTheFilesBack()
    {
        var output = Directory.CreateTempSubdirectory("presence-soak-smoke-").FullName;

        var exitCode = await Bench.Bench.Main(["soak", "--smoke", "--out", output]);

        Assert.Equal(0, exitCode);
        using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "soak.json")));
        var soak = results.RootElement;
        Assert.True(soak.GetProperty("churnCycles").GetInt64() > 0);
        Assert.True(soak.GetProperty("stalledCycles").GetInt64() > 0);
        Assert.Equal(0, soak.GetProperty("failedPublishes").GetInt64());
        Assert.Equal(soak.GetProperty("feedExpected").GetInt64(), soak.GetProperty("feedDelivered").GetInt64());
        Assert.Equal(0, soak.GetProperty("feedOutOfOrder").GetInt64());
        Assert.Equal(0, soak.GetProperty("unhandledExceptions").GetInt32());
        Assert.Equal(JsonValueKind.Number, soak.GetProperty("countsExactAfterMs").ValueKind);
        Assert.Equal(JsonValueKind.Number, soak.GetProperty("emptyAfterMs").ValueKind);
        Assert.NotEmpty(soak.GetProperty("samples").EnumerateArray());
        Assert.Contains("**soak**", await File.ReadAllTextAsync(Path.Combine(output, "soak.md")));
    }

    [Fact]
    public async Task SmokeOverload_RefusesPastMaxStreams_With503_AndStillServes()
    {
        var output = Directory.CreateTempSubdirectory("presence-overload-smoke-").FullName;

        var exitCode = await Bench.Bench.Main(["overload", "--smoke", "--out", output]);

        Assert.Equal(0, exitCode);
        using var results = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "overload.json")));
        var overload = results.RootElement;
        var (attempts, maxStreams) = (overload.GetProperty("attempts").GetInt32(), overload.GetProperty("maxStreams").GetInt32());
        var outcomes = overload.GetProperty("outcomes");
        Assert.Equal(maxStreams - 1, outcomes.GetProperty("200").GetInt32()); // the watcher holds one
        Assert.Equal(attempts - maxStreams + 1, outcomes.GetProperty("503").GetInt32());
        Assert.Equal(2, outcomes.EnumerateObject().Count());
        Assert.Equal(200, overload.GetProperty("liveStatus").GetInt32());
        Assert.Equal(200, overload.GetProperty("snapshotStatus").GetInt32());
        Assert.Equal(503, overload.GetProperty("extraStreamStatus").GetInt32());
        Assert.True(overload.GetProperty("extraStreamRetryAfter").GetBoolean());
        Assert.Equal(JsonValueKind.Number, overload.GetProperty("watcherEventMs").ValueKind);
    }
}
