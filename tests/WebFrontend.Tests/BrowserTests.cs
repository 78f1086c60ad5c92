using System.Diagnostics;
using Microsoft.Playwright;

namespace Presence.WebFrontend.Tests;

/// <summary>The demo page in headless Chromium (Debian's <c>chromium</c> package).</summary>
public sealed class BrowserTests(KestrelPresenceFactory factory) : ChromiumTests, IClassFixture<KestrelPresenceFactory>
{
    private string PageUrl(string room, string query = "") => new Uri(factory.Address, $"/?room={room}{query}").ToString();

    /// <summary>
    /// Opens the demo page with every violation of its Content-Security-Policy recorded (an init
    /// script runs whatever the policy), for <see cref="AssertNoViolationsAsync"/>.
    /// </summary>
    private async Task<(IPage Page, IResponse Response)> OpenAsync(IBrowserContext person, string room, string query = "")
    {
        var page = await person.NewPageAsync();
        await page.AddInitScriptAsync("""
            window.violations = [];
            document.addEventListener('securitypolicyviolation', e => window.violations.push(`${e.violatedDirective} ${e.blockedURI}`));
            """);
        var response = await page.GotoAsync(PageUrl(room, query));
        return (page, response!);
    }

    private static async Task AssertNoViolationsAsync(IPage page) =>
        Assert.Empty(await page.EvaluateAsync<string[]>("window.violations"));

    [Fact]
    public async Task ThreePeople_SeeThreeWatching_ThenTwoWhenOneClosesTheTab()
    {
        var room = $"browser-{Guid.NewGuid():N}";
        var people = new List<IBrowserContext>();
        var pages = new List<IPage>();
        for (var i = 0; i < 3; i++)
        {
            var person = await Browser.NewContextAsync();
            people.Add(person);
            var page = await person.NewPageAsync();
            await page.GotoAsync(PageUrl(room));
            pages.Add(page);
        }

        foreach (var page in pages)
        {
            await Expect(page.Locator("#watching")).ToHaveTextAsync("3");
            await Expect(page.Locator("#status")).ToHaveTextAsync("live");
        }

        await pages[2].CloseAsync();

        await Expect(pages[0].Locator("#watching")).ToHaveTextAsync("2");
        await Expect(pages[1].Locator("#watching")).ToHaveTextAsync("2");
        foreach (var person in people)
        {
            await person.DisposeAsync();
        }
    }

    [Fact]
    public async Task TabsOfOneBrowser_CountAsOneViewer()
    {
        var room = $"browser-{Guid.NewGuid():N}";
        await using var browser = await Browser.NewContextAsync();
        var tabs = new List<IPage>();
        for (var i = 0; i < 3; i++)
        {
            var tab = await browser.NewPageAsync();
            await tab.GotoAsync(PageUrl(room));
            tabs.Add(tab);
        }

        await Expect(tabs[0].Locator("#connections")).ToHaveTextAsync("3 connections");
        await Expect(tabs[0].Locator("#watching")).ToHaveTextAsync("1");
    }

    [Fact]
    public async Task PublishedEvent_AppearsLive_AsTextNotHtml()
    {
        const string markup = "<img src=x onerror=alert(1)><b>1-0</b>";
        var room = $"browser-{Guid.NewGuid():N}";
        await using var person = await Browser.NewContextAsync();
        // An EventSource gets only the event types it listens for: the page's are 'message' and ?types=.
        var (page, _) = await OpenAsync(person, room, "&types=goal");
        await Expect(page.Locator("#status")).ToHaveTextAsync("live");

        using var client = factory.CreateClient();
        await PresenceFactory.PublishAsync(client, room, "goal", new { text = markup });

        var item = page.Locator("#events li").First;
        await Expect(item).ToContainTextAsync("#1 goal");
        await Expect(item).ToContainTextAsync($$"""{"text":"{{markup}}"}""");
        await Expect(page.Locator("#events img, #events b")).ToHaveCountAsync(0);
        await AssertNoViolationsAsync(page);
    }

    [Fact]
    public async Task DemoPage_SendsItsSecurityHeaders_AndWorksUnderItsPolicy()
    {
        var room = $"browser-{Guid.NewGuid():N}";
        await using var person = await Browser.NewContextAsync();
        var (page, response) = await OpenAsync(person, room);

        var headers = await response.AllHeadersAsync();
        Assert.Equal(DemoPage.ContentSecurityPolicy, headers["content-security-policy"]);
        Assert.DoesNotContain("unsafe-inline", headers["content-security-policy"], StringComparison.Ordinal);
        Assert.Equal("nosniff", headers["x-content-type-options"]);
        Assert.Equal("no-referrer", headers["referrer-policy"]);
        using var client = factory.CreateClient();
        foreach (var file in new[] { "/app.js", "/style.css" })
        {
            using var served = await client.GetAsync(file);
            Assert.Equal(DemoPage.ContentSecurityPolicy, served.Headers.GetValues("Content-Security-Policy").Single());
            Assert.Equal("nosniff", served.Headers.GetValues("X-Content-Type-Options").Single());
            Assert.Equal("no-referrer", served.Headers.GetValues("Referrer-Policy").Single());
        }
        using var snapshot = await client.GetAsync($"/rooms/{room}");
        Assert.Equal("nosniff", snapshot.Headers.GetValues("X-Content-Type-Options").Single());

        // Its script and style run: live counts, and publishing through its own form.
        await Expect(page.Locator("#status")).ToHaveTextAsync("live");
        await Expect(page.Locator("#watching")).ToHaveTextAsync("1");
        Assert.Equal("center", await page.Locator(".counter").EvaluateAsync<string>("e => getComputedStyle(e).textAlign"));
        await page.Locator("#publish-key").FillAsync(PresenceFactory.PublishKey);
        await page.Locator("#publish-data").FillAsync("""{"text":"from the form"}""");
        await page.Locator("#publish-form button").ClickAsync();
        await Expect(page.Locator("#publish-result")).ToHaveTextAsync("published #1");
        await Expect(page.Locator("#events li").First).ToContainTextAsync("""{"text":"from the form"}""");
        await AssertNoViolationsAsync(page);
    }

    /// <summary>
    /// Page Visibility under the test's control: <c>document.hidden</c> and <c>visibilityState</c>
    /// read a flag that <c>setHidden(bool)</c> sets before it dispatches <c>visibilitychange</c>, as
    /// the browser does when a tab goes to the background; the page's own listener does the rest.
    /// </summary>
    internal const string VisibilityControl = """
        (() => {
          let hidden = false;
          Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
          Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
          window.setHidden = (value) => { hidden = value; document.dispatchEvent(new Event('visibilitychange')); };
        })();
        """;

    [Fact]
    public async Task HiddenTab_IsReportedAway_AfterFiveSeconds_AndActiveAgainWhenShown()
    {
        var room = $"browser-{Guid.NewGuid():N}";
        await using var hiding = await Browser.NewContextAsync();
        await using var watching = await Browser.NewContextAsync();
        await hiding.AddInitScriptAsync(VisibilityControl);
        var (hidden, _) = await OpenAsync(hiding, room);
        var (other, _) = await OpenAsync(watching, room);
        await Expect(other.Locator("#watching")).ToHaveTextAsync("2");
        await Expect(other.Locator("#away")).ToHaveTextAsync("");

        var hiddenAt = Stopwatch.StartNew();
        await hidden.EvaluateAsync("setHidden(true)");
        await Expect(other.Locator("#away")).ToHaveTextAsync("· 1 away", new() { Timeout = 15_000 });
        hiddenAt.Stop();
        await Expect(hidden.Locator("#away")).ToHaveTextAsync("· 1 away");
        await Expect(other.Locator("#watching")).ToHaveTextAsync("2");

        await hidden.EvaluateAsync("setHidden(false)");
        await Expect(other.Locator("#away")).ToHaveTextAsync("");

        Assert.True(hiddenAt.Elapsed >= TimeSpan.FromSeconds(4.9), $"away after {hiddenAt.Elapsed}");
        await AssertNoViolationsAsync(hidden);
    }
}
