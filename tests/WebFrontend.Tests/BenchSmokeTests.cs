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
}
