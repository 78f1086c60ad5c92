using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;

namespace Presence.WebFrontend.Tests;

/// <summary>The OpenAPI document and the Orleans dashboard of the embedded default.</summary>
[Collection(nameof(PresenceFactory))]
public sealed partial class OperatorEndpointTests(PresenceFactory factory)
{
    [Fact]
    public async Task OpenApiDocument_ListsEveryRouteOfTheReadmesContract_NamedAndSummarised()
    {
        var contract = ReadmeContract();
        using var document = JsonDocument.Parse(await factory.CreateClient().GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");

        Assert.Contains(("GET", "/rooms/{room}/events"), contract);
        Assert.Contains(("GET", "/openapi/v1.json"), contract);
        Assert.All(contract, route =>
        {
            Assert.True(paths.TryGetProperty(route.Path, out var path), $"{route.Path} is not in the document");
            Assert.True(path.TryGetProperty(route.Method.ToLowerInvariant(), out var operation), $"{route.Method} {route.Path} is not in the document");
            Assert.False(string.IsNullOrWhiteSpace(operation.GetProperty("operationId").GetString()), $"{route.Method} {route.Path} has no name");
            Assert.False(string.IsNullOrWhiteSpace(operation.GetProperty("summary").GetString()), $"{route.Method} {route.Path} has no summary");
        });
        var stream = paths.GetProperty("/rooms/{room}/events").GetProperty("get");
        Assert.Equal(["text/event-stream"], stream.GetProperty("responses").GetProperty("200").GetProperty("content").EnumerateObject().Select(content => content.Name));
        Assert.Contains("Last-Event-ID", stream.GetProperty("parameters").EnumerateArray().Select(parameter => parameter.GetProperty("name").GetString()));
        var publish = paths.GetProperty("/rooms/{room}/events").GetProperty("post");
        Assert.True(publish.GetProperty("requestBody").GetProperty("content").TryGetProperty("application/json", out _));
        Assert.True(publish.GetProperty("responses").TryGetProperty("201", out _));
    }

    [Fact]
    public async Task Dashboard_AnswersWithItsPage_WithoutTheDemoPagesContentSecurityPolicy()
    {
        var client = factory.CreateClient();

        using var page = await client.GetAsync("/dashboard");
        using var script = await client.GetAsync("/dashboard/index.min.js");
        using var demo = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("/dashboard/", page.RequestMessage?.RequestUri?.AbsolutePath);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<title>Orleans Dashboard</title>", await page.Content.ReadAsStringAsync());
        // The page and its module script run only without the demo page's policy (it allows no
        // script or style but the demo page's own files).
        Assert.False(page.Headers.Contains("Content-Security-Policy"));
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.False(script.Headers.Contains("Content-Security-Policy"));
        Assert.True(demo.Headers.Contains("Content-Security-Policy"));
    }

    [Theory]
    [InlineData("/dashboard/SiloProperties/not-a-silo")]
    [InlineData("/dashboard/HistoricalStats/not-a-silo")]
    public async Task DashboardApi_AnswersBadSiloAddressesWith400(string path)
    {
        using var response = await factory.CreateClient().GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Dashboard_IsAbsent_WhenDisabled_WhileMetricsStayOn()
    {
        await using var disabled = factory.WithWebHostBuilder(builder => builder.UseSetting("Dashboard:Enabled", "false"));
        var client = disabled.CreateClient();

        using var page = await client.GetAsync("/dashboard");
        using var api = await client.GetAsync("/dashboard/ClusterStats");
        using var metrics = await client.GetAsync("/metrics");
        var document = await client.GetStringAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.Equal("application/problem+json", page.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, api.StatusCode);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("presence_streams_open", await metrics.Content.ReadAsStringAsync());
        Assert.DoesNotContain("/dashboard", document);
    }

    /// <summary>The <c>method path</c> of every row of the README's "HTTP contract" table, without query strings.</summary>
    private static List<(string Method, string Path)> ReadmeContract()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(directory.FullName, "Presence.sln")))
        {
            directory = directory.Parent ?? throw new InvalidOperationException("the repository's root was not found");
        }
        var readme = File.ReadAllLines(Path.Combine(directory.FullName, "README.md"));
        var table = readme.SkipWhile(line => line != "## HTTP contract").Skip(1)
            .SkipWhile(line => !line.StartsWith('|')).TakeWhile(line => line.StartsWith('|'));
        return [.. table.Select(line => ContractRow().Match(line)).Where(row => row.Success)
            .Select(row => (row.Groups[1].Value, row.Groups[2].Value))];
    }

    [GeneratedRegex(@"^\| `(GET|POST|PUT|PATCH|DELETE) (/[^`?]*)[^`]*` \|")]
    private static partial Regex ContractRow();
}
