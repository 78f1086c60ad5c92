using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Exporter;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend.Tests;

/// <summary>
/// The service on Kestrel (so that Kestrel's meters exist), alone in its process's view of the
/// metrics: each host exports only its own meters. Leases of 1 s so that a ghost lapses quickly, and
/// publishes limited to a burst of 10 per key, then one a second. Every scrape is fresh (the
/// exporter would otherwise answer scrapes within 300 ms of each other from a cache).
/// </summary>
public sealed class MetricsFactory : KestrelPresenceFactory
{
    public const string FloodKey = "metrics-flood-key";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Presence:LeaseSeconds", "1");
        builder.UseSetting("Feed:PublishKeys:1", FloodKey);
        builder.UseSetting("RateLimits:PublishPerSecond", "1");
        builder.UseSetting("RateLimits:PublishBurst", "10");
        builder.ConfigureTestServices(services =>
            services.Configure<PrometheusAspNetCoreOptions>(options => options.ScrapeResponseCacheDurationMilliseconds = 0));
    }
}

/// <summary>
/// <c>/metrics</c> scraped as Prometheus would, while the tests hold streams and publish as clients
/// do. The tests of this class run one after another on their own factory, so its gauges are exact.
/// </summary>
public sealed class MetricsTests(MetricsFactory factory) : IClassFixture<MetricsFactory>
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(15);
    private readonly HttpClient _client = new() { BaseAddress = factory.Address, Timeout = Timeout.InfiniteTimeSpan };

    [Fact]
    public async Task Scrape_ParsesAsPrometheusText_WithEveryInstrument_AndTheRuntimeKestrelHostingAndOrleansMeters()
    {
        var room = NewRoom();
        await using var watcher = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(room, PresenceFactory.PublishKey)).StatusCode);
        await watcher.NextFeedEventAsync();

        using var response = await _client.GetAsync("/metrics");
        var metrics = PrometheusText.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        string[] ours =
        [
            "presence_deliveries_total counter",
            "presence_feed_delivery_latency_seconds histogram",
            "presence_grain_call_duration_seconds histogram",
            "presence_leases_lapsed_total counter",
            "presence_publishes_total counter",
            "presence_rooms_local gauge",
            "presence_slow_consumers_dropped_total counter",
            "presence_streams_open gauge",
        ];
        Assert.Equal(
            string.Join("\n", ours),
            string.Join("\n", metrics.Families.Where(family => family.Key.StartsWith("presence_", StringComparison.Ordinal))
                .Select(family => $"{family.Key} {family.Value}").Order(StringComparer.Ordinal)));
        Assert.All(["dotnet_gc_collections_total", "kestrel_active_connections", "http_server_request_duration_seconds", "orleans_catalog_activations"],
            family => Assert.Contains(family, metrics.Families.Keys));
    }

    [Fact]
    public async Task OpenStreamsGauge_SaysHowManyStreamsAreOpen_AndGoesBackWhenTheyClose()
    {
        var (room, other) = (NewRoom(), NewRoom());
        // Streams of the tests before this one may still be ending.
        await ScrapeUntilAsync(metrics => metrics.Find("presence_streams_open") == 0 && metrics.Find("presence_rooms_local") == 0);

        var streams = new List<SseReader>
        {
            await SseReader.OpenAsync(_client, $"/rooms/{room}/events"),
            await SseReader.OpenAsync(_client, $"/rooms/{room}/events?count=false"),
            await SseReader.OpenAsync(_client, $"/rooms/{other}/events"),
        };
        var open = await ScrapeUntilAsync(metrics => metrics.Find("presence_streams_open") == 3);
        Assert.Equal(2, open.Find("presence_rooms_local"));

        await streams[0].DisposeAsync();
        await ScrapeUntilAsync(metrics => metrics.Find("presence_streams_open") == 2);
        foreach (var stream in streams.Skip(1))
        {
            await stream.DisposeAsync();
        }
        var closed = await ScrapeUntilAsync(metrics => metrics.Find("presence_streams_open") == 0 && metrics.Find("presence_rooms_local") == 0);
        Assert.Equal(0, closed.Find("presence_streams_open"));
    }

    [Fact]
    public async Task Deliveries_CountEveryFrameWrittenToAConnection_AndEachFanOutOnceInTheLatency()
    {
        var room = NewRoom();
        var before = await ScrapeAsync();
        var watchers = new List<SseReader>();
        for (var i = 0; i < 3; i++)
        {
            watchers.Add(await SseReader.OpenAsync(_client, $"/rooms/{room}/events"));
        }
        foreach (var watcher in watchers)
        {
            await watcher.WaitForPresenceAsync(counts => counts.Connections == 3);
        }
        // Three opening snapshots, and at least one count that reached the first watcher later.
        var joined = await ScrapeUntilAsync(metrics => Presence(metrics) >= Presence(before) + 4);

        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(room, PresenceFactory.PublishKey)).StatusCode);
        foreach (var watcher in watchers)
        {
            Assert.Equal("goal", (await watcher.NextFeedEventAsync()).Event);
        }

        var feed = Feed(joined);
        var delivered = await ScrapeUntilAsync(metrics => Feed(metrics) >= feed + 3);
        Assert.Equal(feed + 3, Feed(delivered));
        Assert.Equal(LatencyCount(joined) + 1, LatencyCount(delivered));
        foreach (var watcher in watchers)
        {
            await watcher.DisposeAsync();
        }

        static double Feed(PrometheusText metrics) => metrics.Count("presence_deliveries_total", ("kind", "feed"));
        static double Presence(PrometheusText metrics) => metrics.Count("presence_deliveries_total", ("kind", "presence"));
        static double LatencyCount(PrometheusText metrics) => metrics.Count("presence_feed_delivery_latency_seconds_count");
    }

    [Fact]
    public async Task Publishes_AreCountedByOutcome()
    {
        var room = NewRoom();
        var before = await ScrapeAsync();

        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(room, PresenceFactory.PublishKey)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PublishAsync(room, key: null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await PublishAsync(room, "not-a-key")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await PublishAsync(room, MetricsFactory.FloodKey, "not json")).StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge,
            (await PublishAsync(room, MetricsFactory.FloodKey, $"{{\"data\":\"{new string('x', 70_000)}\"}}")).StatusCode);
        var flooded = 0;
        HttpStatusCode status;
        while ((status = (await PublishAsync(room, MetricsFactory.FloodKey)).StatusCode) == HttpStatusCode.Created && flooded < 20)
        {
            flooded++;
        }
        Assert.Equal(HttpStatusCode.TooManyRequests, status);

        var expected = new Dictionary<string, double>
        {
            ["created"] = 1 + flooded,
            ["unauthorized"] = 1,
            ["forbidden"] = 1,
            ["invalid"] = 1,
            ["too_large"] = 1,
            ["rate_limited"] = 1,
        };
        var after = await ScrapeUntilAsync(metrics => expected.All(outcome => Delta(metrics, outcome.Key) >= outcome.Value));
        Assert.Equal(expected, expected.Keys.ToDictionary(outcome => outcome, outcome => Delta(after, outcome)));

        double Delta(PrometheusText metrics, string outcome) =>
            metrics.Count("presence_publishes_total", ("outcome", outcome)) - before.Count("presence_publishes_total", ("outcome", outcome));
    }

    [Fact]
    public async Task GrainCalls_AreTimedByGrainAndMethod_OnlyTheFrontEndsOwn()
    {
        var room = NewRoom();
        var before = await ScrapeAsync();

        await using (var watcher = await SseReader.OpenAsync(_client, $"/rooms/{room}/events"))
        {
            // Listed once its grain has reported it to the directory (a grain-to-grain call).
            await PollAsync(async () => (await _client.GetStringAsync("/rooms?top=1000")).Contains(room));
        }

        var after = await ScrapeUntilAsync(metrics => Joins(metrics) > Joins(before));
        Assert.True(Joins(after) > Joins(before));
        Assert.Null(after.Find("presence_grain_call_duration_seconds_count", ("method", "ReportAsync")));

        static double Joins(PrometheusText metrics) =>
            metrics.Count("presence_grain_call_duration_seconds_count", ("grain", "IPresenceGrain"), ("method", "JoinAsync"));
    }

    [Fact]
    public async Task LeaseLapses_CountTheGhostsTheSweepRemoves()
    {
        var room = NewRoom();
        var before = (await ScrapeAsync()).Count("presence_leases_lapsed_total");
        var presence = factory.Services.GetRequiredService<IClusterClient>().GetGrain<IPresenceGrain>(room);

        // A connection of a front end that then died: nobody renews its 1 s lease.
        await presence.JoinAsync("a-front-end-that-died", [new Member(Guid.NewGuid(), "ghost")]);

        var after = await ScrapeUntilAsync(metrics => metrics.Count("presence_leases_lapsed_total") > before);
        Assert.Equal(before + 1, after.Count("presence_leases_lapsed_total"));
        Assert.Equal(0, (await presence.GetAsync()).Connections);
    }

    private static string NewRoom() => $"room-{Guid.NewGuid():N}";

    private async Task<HttpResponseMessage> PublishAsync(string room, string? key, string? body = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/rooms/{room}/events")
        {
            Content = body is null ? JsonContent.Create(new { type = "goal", data = 1 }) : new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return await _client.SendAsync(request);
    }

    private async Task<PrometheusText> ScrapeAsync() => PrometheusText.Parse(await _client.GetStringAsync("/metrics"));

    /// <summary>Scrapes until the condition holds (the exporter caches a scrape for a moment).</summary>
    private async Task<PrometheusText> ScrapeUntilAsync(Func<PrometheusText, bool> condition)
    {
        PrometheusText? last = null;
        await PollAsync(async () => condition(last = await ScrapeAsync()));
        return last!;
    }

    private static async Task PollAsync(Func<Task<bool>> condition)
    {
        using var limit = new CancellationTokenSource(WaitLimit);
        while (!await condition())
        {
            await Task.Delay(TimeSpan.FromMilliseconds(50), limit.Token);
        }
    }
}
