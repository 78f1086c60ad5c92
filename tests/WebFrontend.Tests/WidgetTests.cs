using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Presence.WebFrontend.Tests;

/// <summary>The service, and another site (another port, so another origin) whose pages embed its widget; the site's origin is in <c>Cors:AllowedOrigins</c>.</summary>
public sealed class WidgetFixture : IAsyncLifetime
{
    public EmbeddingPages Pages { get; private set; } = null!;

    public KestrelPresenceFactory Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Pages = await EmbeddingPages.StartAsync();
        Server = new KestrelPresenceFactory(0, new Dictionary<string, string> { ["Cors:AllowedOrigins:0"] = Pages.Origin });
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        await Pages.DisposeAsync();
    }
}

/// <summary>presence.js in headless Chromium, embedded in another site's pages, and the demo page built on it.</summary>
public sealed class WidgetTests(WidgetFixture fixture) : ChromiumTests, IClassFixture<WidgetFixture>
{
    private static readonly LocatorAssertionsToHaveTextOptions Slow = new() { Timeout = 30_000 };

    private KestrelPresenceFactory Server => fixture.Server;

    private static string NewRoom() => $"widget-{Guid.NewGuid():N}";

    private static string DemoUrl(Uri server, string room, string query = "") => new Uri(server, $"/?room={room}{query}").ToString();

    [Fact]
    public async Task EmbeddedOnAnotherOrigin_ShowsTheCountLive_AndASecondViewerMovesIt()
    {
        var room = NewRoom();
        var url = fixture.Pages.PageUrl(Server.Address, room);
        Assert.NotEqual(Server.Address.GetLeftPart(UriPartial.Authority), fixture.Pages.Origin);

        await using var first = await Browser.NewContextAsync();
        var page = await first.NewPageAsync();
        await page.GotoAsync(url);
        var element = page.Locator("[data-presence-room]");
        await Expect(element).ToHaveTextAsync("1 watching");
        await Expect(element).ToHaveAttributeAsync("aria-live", "polite");
        await Expect(element).ToHaveAttributeAsync("data-presence-state", "live");

        await using var second = await Browser.NewContextAsync();
        var other = await second.NewPageAsync();
        await other.GotoAsync(url);

        await Expect(element).ToHaveTextAsync("2 watching");
        await Expect(other.Locator("[data-presence-room]")).ToHaveTextAsync("2 watching");

        await other.CloseAsync();
        await Expect(element).ToHaveTextAsync("1 watching");
    }

    [Fact]
    public async Task EmbeddedOnAnotherOrigin_AHiddenPageIsAway_InEachOfItsRooms_AfterItsIdleSeconds_AndBackWhenShown()
    {
        string[] rooms = [NewRoom(), NewRoom()];
        var url = fixture.Pages.PageUrl(Server.Address, rooms) + "&idle=1";
        await using var hiding = await Browser.NewContextAsync();
        await hiding.AddInitScriptAsync(BrowserTests.VisibilityControl);
        var hidden = await hiding.NewPageAsync();
        var reports = new List<string>();
        hidden.Request += (_, request) =>
        {
            if (request.Method == "POST")
            {
                lock (reports)
                {
                    reports.Add(request.Url);
                }
            }
        };
        await hidden.GotoAsync(url);
        await using var watching = await Browser.NewContextAsync();
        var other = await watching.NewPageAsync();
        await other.GotoAsync(url);
        var elements = other.Locator("[data-presence-room]");
        await Expect(elements).ToHaveTextAsync(["2 watching", "2 watching"]);

        // The report is a cross-origin POST with a bearer token: the browser asks (CORS preflight)
        // first. One report for the page's one stream moves idle in both of its rooms.
        await hidden.EvaluateAsync("setHidden(true)");
        await Expect(elements).ToHaveTextAsync(["2 watching · 1 away", "2 watching · 1 away"]);
        await Expect(hidden.Locator("[data-presence-room]")).ToHaveTextAsync(["2 watching · 1 away", "2 watching · 1 away"]);
        lock (reports)
        {
            Assert.Matches("/connections/[0-9a-f]{32}/activity$", Assert.Single(reports));
        }

        await hidden.EvaluateAsync("setHidden(false)");
        await Expect(elements).ToHaveTextAsync(["2 watching", "2 watching"]);
    }

    [Fact]
    public async Task SeveralRoomsOnAPage_OpenOneStream_CountedOnceInEachRoom()
    {
        var rooms = Enumerable.Range(0, 5).Select(_ => NewRoom()).ToArray();
        await using var person = await Browser.NewContextAsync();
        var page = await person.NewPageAsync();
        var streams = new List<string>();
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/events", StringComparison.Ordinal))
            {
                lock (streams)
                {
                    streams.Add(request.Url);
                }
            }
        };
        // Two elements for the first room, one for each of the others.
        await page.GotoAsync(fixture.Pages.PageUrl(Server.Address, [rooms[0], .. rooms]));

        var first = page.Locator($"[data-presence-room='{rooms[0]}']");
        await Expect(first).ToHaveCountAsync(2);
        await Expect(first.Nth(1)).ToHaveTextAsync("1 watching");
        foreach (var room in rooms)
        {
            await Expect(page.Locator($"[data-presence-room='{room}']").First).ToHaveTextAsync("1 watching");
        }

        string stream;
        lock (streams)
        {
            stream = Assert.Single(streams);
        }
        var query = System.Web.HttpUtility.ParseQueryString(new Uri(stream).Query);
        Assert.Equal(rooms, query["rooms"]!.Split(','));
        using var client = Server.CreateClient();
        foreach (var room in rooms)
        {
            Assert.Equal(1, (await client.GetFromJsonAsync<PresenceCounts>($"/rooms/{room}"))!.Connections);
        }
    }

    [Fact]
    public async Task WatchAddedLater_ReopensTheStreamWhereItLeftOff_NoEventMissedOrTwice()
    {
        var (room, watched, added) = (NewRoom(), NewRoom(), NewRoom());
        await using var person = await Browser.NewContextAsync();
        var page = await person.NewPageAsync();
        await page.GotoAsync(fixture.Pages.PageUrl(Server.Address, room));
        await Expect(page.Locator("[data-presence-room]")).ToHaveTextAsync("1 watching");
        using var client = Server.CreateClient();

        var reopened = await page.RunAndWaitForRequestAsync(
            () => page.EvaluateAsync("""
                room => {
                  window.seen = [];
                  Presence.watch(room, { onCount: () => window.counted = true, onEvent: (e) => window.seen.push(`${e.id}:${e.data.n}`) });
                }
                """, watched),
            request => request.Url.Contains("/events?", StringComparison.Ordinal));
        Assert.Contains($"rooms={room}%2C{watched}", reopened.Url, StringComparison.Ordinal);
        // Opened without a position in the new room, the stream is live there from its opening
        // counts on: an event published before them may count as before the stream.
        await page.WaitForFunctionAsync("window.counted === true");
        await PresenceFactory.PublishAsync(client, watched, "message", new { n = 1 });
        await page.WaitForFunctionAsync("window.seen.length === 1");

        // Another room: the stream opens again, at its position in the rooms it had.
        var again = await page.RunAndWaitForRequestAsync(
            () => page.EvaluateAsync("room => { Presence.watch(room); }", added),
            request => request.Url.Contains("/events?", StringComparison.Ordinal));
        var query = System.Web.HttpUtility.ParseQueryString(new Uri(again.Url).Query);
        Assert.Equal([room, watched, added], query["rooms"]!.Split(','));
        Assert.Equal($"{room}=0,{watched}=1", query["lastEventId"]);
        await PresenceFactory.PublishAsync(client, watched, "message", new { n = 2 });
        await PresenceFactory.PublishAsync(client, added, "message", new { n = 1 });

        await page.WaitForFunctionAsync("window.seen.length >= 2");
        Assert.Equal(["1:1", "2:2"], await page.EvaluateAsync<string[]>("window.seen"));
        await Expect(page.Locator("[data-presence-room]")).ToHaveTextAsync("1 watching");
        // The streams it replaced have left: one connection in each room.
        using var streaming = Server.CreateStreamingClient();
        foreach (var name in new[] { room, watched, added })
        {
            await using var counts = await SseReader.OpenAsync(streaming, $"/rooms/{name}/events?count=false");
            await counts.WaitForPresenceAsync(p => p.Connections == 1);
        }
    }

    [Fact]
    public async Task WithoutEventSource_PollsTheSnapshot_AndShowsTheCount()
    {
        var room = NewRoom();
        await using var person = await Browser.NewContextAsync();
        var page = await person.NewPageAsync();
        await page.AddInitScriptAsync("delete window.EventSource;");
        var streamsOpened = 0;
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/events", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref streamsOpened);
            }
        };
        using var client = Server.CreateStreamingClient();
        await using var alice = await SseReader.OpenAsync(client, $"/rooms/{room}/events?viewer=alice");

        await page.GotoAsync(fixture.Pages.PageUrl(Server.Address, room));
        var element = page.Locator("[data-presence-room]");
        await Expect(element).ToHaveTextAsync("1 watching");
        await Expect(element).ToHaveAttributeAsync("data-presence-state", "polling");

        await using var bob = await SseReader.OpenAsync(client, $"/rooms/{room}/events?viewer=bob");
        await Expect(element).ToHaveTextAsync("2 watching", Slow);
        Assert.Equal(0, Volatile.Read(ref streamsOpened));
        Assert.Equal("undefined", await page.EvaluateAsync<string>("typeof EventSource"));
    }

    [Fact]
    public async Task ServerStoppedAndStartedAgain_ShowsReconnecting_ThenTheRightCount()
    {
        var room = NewRoom();
        var port = LoopbackServer.FreePort();
        var settings = new Dictionary<string, string>
        {
            ["Shutdown:DrainSeconds"] = "1",
            ["Shutdown:ReconnectSpreadSeconds"] = "1",
        };
        var first = new KestrelPresenceFactory(port, settings);
        var address = first.Address;
        var people = new List<IBrowserContext>();
        var pages = new List<IPage>();
        try
        {
            for (var i = 0; i < 2; i++)
            {
                var person = await Browser.NewContextAsync();
                people.Add(person);
                var page = await person.NewPageAsync();
                await page.GotoAsync(DemoUrl(address, room));
                pages.Add(page);
            }
            foreach (var page in pages)
            {
                await Expect(page.Locator("#watching")).ToHaveTextAsync("2");
                await Expect(page.Locator("#status")).ToHaveTextAsync("live");
            }

            var stopping = first.DisposeAsync().AsTask();
            foreach (var page in pages)
            {
                await Expect(page.Locator("#status")).ToHaveTextAsync("reconnecting", Slow);
                await Expect(page.Locator("#embed-preview")).ToHaveAttributeAsync("data-presence-state", "reconnecting");
            }
            await stopping;

            await using var second = new KestrelPresenceFactory(port, settings);
            Assert.Equal(address, second.Address);
            foreach (var page in pages)
            {
                await Expect(page.Locator("#status")).ToHaveTextAsync("live", new() { Timeout = 60_000 });
                await Expect(page.Locator("#watching")).ToHaveTextAsync("2", Slow);
                await Expect(page.Locator("#embed-preview")).ToHaveTextAsync("2 watching");
            }
            using var client = second.CreateClient();
            var snapshot = await client.GetFromJsonAsync<PresenceCounts>($"/rooms/{room}");
            Assert.Equal(2, snapshot!.Watching);
        }
        finally
        {
            foreach (var person in people)
            {
                await person.DisposeAsync();
            }
            await first.DisposeAsync();
        }
    }

    [Fact]
    public async Task DemoPage_ShowsTheLastEventsPublishedBeforeItOpened()
    {
        const int published = 55;
        const int replayed = 50;
        var room = NewRoom();
        using var client = Server.CreateClient();
        for (var i = 1; i <= published; i++)
        {
            await PresenceFactory.PublishAsync(client, room, i == published ? "goal" : "message", new { n = i });
        }

        await using var person = await Browser.NewContextAsync();
        var page = await person.NewPageAsync();
        await page.GotoAsync(DemoUrl(Server.Address, room, "&types=goal"));

        var items = page.Locator("#events li");
        await Expect(items).ToHaveCountAsync(replayed);
        await Expect(items.First).ToHaveTextAsync($$"""#{{published}} goal{"n":{{published}}}""");
        await Expect(items.Last).ToHaveTextAsync($$"""#{{published - replayed + 1}} message{"n":{{published - replayed + 1}}}""");

        await PresenceFactory.PublishAsync(client, room, "message", new { n = published + 1 });
        await Expect(items.First).ToHaveTextAsync($$"""#{{published + 1}} message{"n":{{published + 1}}}""");
    }

    [Fact]
    public async Task DemoPage_ChartFollowsTheCount()
    {
        var room = NewRoom();
        await using var first = await Browser.NewContextAsync();
        var page = await first.NewPageAsync();
        await page.GotoAsync(DemoUrl(Server.Address, room));
        var chart = page.Locator("#chart");
        await Expect(chart).ToHaveAttributeAsync("aria-label", new Regex("now 1, at most 1$"));

        await using var second = await Browser.NewContextAsync();
        await (await second.NewPageAsync()).GotoAsync(DemoUrl(Server.Address, room));
        await Expect(chart).ToHaveAttributeAsync("aria-label", new Regex("now 2, at most 2$"));
        await Expect(chart.Locator("circle")).ToHaveAttributeAsync("data-watching", "2");
        var points = await PointsAsync(page);
        var (oneWatching, twoWatching) = (points[0].Y, points[^1].Y);
        Assert.True(twoWatching < oneWatching, $"2 watching is drawn at y {twoWatching}, not above 1 watching at y {oneWatching}");

        await second.DisposeAsync();
        await Expect(chart).ToHaveAttributeAsync("aria-label", new Regex("now 1, at most 2$"));
        points = await PointsAsync(page);
        // Up to 2 and back down to 1, drawn up to now: a step line, so each level is a horizontal stretch.
        Assert.Equal(oneWatching, points[0].Y);
        Assert.Contains(points, point => point.Y == twoWatching);
        Assert.Equal(oneWatching, points[^1].Y);
        Assert.True(points[^1].X > points[0].X);
    }

    /// <summary>
    /// The demo page at desktop and phone width, on a server of its own (so the busiest rooms are
    /// its rooms); minutes pass on the pages' clocks between joins so the chart has something to
    /// show. With <c>PRESENCE_SCREENSHOTS=&lt;dir&gt;</c> it saves the README's screenshots there.
    /// </summary>
    [Fact]
    public async Task DemoPage_FitsAPhoneScreen_AndShowsEverythingLive()
    {
        const string room = "lobby";
        await using var server = new KestrelPresenceFactory();
        using var client = server.CreateStreamingClient();
        var viewers = new List<SseReader>();
        try
        {
            foreach (var (other, count) in new[] { ("match-day", 5), ("keynote", 2) })
            {
                for (var i = 0; i < count; i++)
                {
                    viewers.Add(await SseReader.OpenAsync(client, $"/rooms/{other}/events?viewer={other}-{i}"));
                }
            }
            await PresenceFactory.PublishAsync(client, room, "message", new { text = "Welcome to the lobby" });
            await PresenceFactory.PublishAsync(client, room, "goal", new { team = "home", minute = 42 });
            await PresenceFactory.PublishAsync(client, room, "message", new { text = "<b>markup</b> stays text" });

            await using var desktop = await Browser.NewContextAsync(new() { ViewportSize = new() { Width = 1280, Height = 900 } });
            await using var phone = await Browser.NewContextAsync(new()
            {
                ViewportSize = new() { Width = 390, Height = 844 }, DeviceScaleFactor = 2, IsMobile = true, HasTouch = true,
            });
            var pages = new[] { await desktop.NewPageAsync(), await phone.NewPageAsync() };
            foreach (var page in pages)
            {
                await page.Clock.InstallAsync();
                await page.GotoAsync(DemoUrl(server.Address, room, "&types=goal"));
                await Expect(page.Locator("#status")).ToHaveTextAsync("live");
                await Expect(page.Locator("#events li")).ToHaveCountAsync(3);
            }
            await Expect(pages[0].Locator("#watching")).ToHaveTextAsync("2");

            // Others join over a few minutes, and one leaves.
            for (var watching = 3; watching <= 5; watching++)
            {
                foreach (var page in pages)
                {
                    await page.Clock.FastForwardAsync(50_000);
                }
                viewers.Add(await SseReader.OpenAsync(client, $"/rooms/{room}/events?viewer=guest-{watching}"));
                await Expect(pages[0].Locator("#watching")).ToHaveTextAsync(watching.ToString(CultureInfo.InvariantCulture));
            }
            foreach (var page in pages)
            {
                await page.Clock.FastForwardAsync(40_000);
            }
            await viewers[^1].DisposeAsync();
            viewers.RemoveAt(viewers.Count - 1);
            foreach (var page in pages)
            {
                await page.Clock.FastForwardAsync(20_000);
                await Expect(page.Locator("#watching")).ToHaveTextAsync("4");
                await Expect(page.Locator("#chart")).ToHaveAttributeAsync("aria-label", new Regex("now 4, at most 5$"));
                await Expect(page.Locator("#top-rooms li")).ToHaveTextAsync(["match-day5", "lobby4", "keynote2"]);
                await Expect(page.Locator("#embed-preview")).ToHaveTextAsync("4 watching");
            }

            var phonePage = pages[1];
            Assert.True(await phonePage.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"),
                "the page scrolls sideways at phone width");
            var counter = await phonePage.Locator(".counter").BoundingBoxAsync();
            var events = await phonePage.Locator(".feed").BoundingBoxAsync();
            Assert.True(events!.Y >= counter!.Y + counter.Height, "at phone width the sections stack");

            if (Environment.GetEnvironmentVariable("PRESENCE_SCREENSHOTS") is { Length: > 0 } directory)
            {
                Directory.CreateDirectory(directory);
                await pages[0].ScreenshotAsync(new() { Path = Path.Combine(directory, "demo-desktop.png"), FullPage = true });
                await phonePage.ScreenshotAsync(new() { Path = Path.Combine(directory, "demo-phone.png"), FullPage = true });
            }
        }
        finally
        {
            foreach (var viewer in viewers)
            {
                await viewer.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Widget_IsServedCacheable_WithItsContentType_AndCorsForTheListedOriginsOnly()
    {
        using var client = Server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/presence.js");
        request.Headers.Add("Origin", fixture.Pages.Origin);
        using var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/javascript", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("utf-8", response.Content.Headers.ContentType.CharSet);
        Assert.True(response.Headers.CacheControl!.Public);
        Assert.True(response.Headers.CacheControl.MaxAge > TimeSpan.Zero);
        Assert.Equal(fixture.Pages.Origin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        var script = await response.Content.ReadAsByteArrayAsync();
        Assert.InRange(script.Length, 1, 10 * 1024);

        using var again = new HttpRequestMessage(HttpMethod.Get, "/presence.js");
        again.Headers.IfNoneMatch.Add(response.Headers.ETag!);
        using var notModified = await client.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);

        var room = NewRoom();
        foreach (var path in new[] { "/presence.js", $"/rooms/{room}", "/rooms?top=3" })
        {
            Assert.Equal(fixture.Pages.Origin, await AllowedOriginAsync(client, path, fixture.Pages.Origin));
            Assert.Null(await AllowedOriginAsync(client, path, "http://elsewhere.example"));
        }
        using var streaming = Server.CreateStreamingClient();
        using var stream = new HttpRequestMessage(HttpMethod.Get, $"/rooms/{room}/events");
        stream.Headers.Add("Origin", fixture.Pages.Origin);
        using var streamResponse = await streaming.SendAsync(stream, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(fixture.Pages.Origin, streamResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());

        // The default: no origin listed, so the browser lets only same-origin pages read.
        await using var sameOriginOnly = new PresenceFactory();
        using var plain = sameOriginOnly.CreateClient();
        Assert.Null(await AllowedOriginAsync(plain, $"/rooms/{room}", fixture.Pages.Origin));
    }

    private static async Task<string?> AllowedOriginAsync(HttpClient client, string path, string origin)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Origin", origin);
        using var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) ? values.Single() : null;
    }

    private static async Task<(double X, double Y)[]> PointsAsync(IPage page)
    {
        var points = await page.Locator("#chart polyline").GetAttributeAsync("points") ?? "";
        return
        [
            .. points.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(point =>
            {
                var xy = point.Split(',');
                return (double.Parse(xy[0], CultureInfo.InvariantCulture), double.Parse(xy[1], CultureInfo.InvariantCulture));
            }),
        ];
    }
}
