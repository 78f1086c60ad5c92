using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Playwright;

namespace Presence.WebFrontend.Tests;

/// <summary>The demo page in headless Chromium (Debian's <c>chromium</c> package).</summary>
public sealed class BrowserTests(KestrelPresenceFactory factory) : IClassFixture<KestrelPresenceFactory>, IAsyncLifetime
{
    private IPlaywright _playwright = null!;
    private IBrowser _browser = null!;

    public async Task InitializeAsync()
    {
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = Environment.GetEnvironmentVariable("CHROMIUM_PATH") ?? "/usr/bin/chromium",
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
            ],
        });
    }

    public async Task DisposeAsync()
    {
        await _browser.DisposeAsync();
        _playwright.Dispose();
    }

    private string PageUrl(string room) => new Uri(factory.Address, $"/?room={room}").ToString();

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    [Fact]
    public async Task ThreePeople_SeeThreeWatching_ThenTwoWhenOneClosesTheTab()
    {
        var room = $"browser-{Guid.NewGuid():N}";
        var people = new List<IBrowserContext>();
        var pages = new List<IPage>();
        for (var i = 0; i < 3; i++)
        {
            var person = await _browser.NewContextAsync();
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
        await using var browser = await _browser.NewContextAsync();
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
        var room = $"browser-{Guid.NewGuid():N}";
        await using var person = await _browser.NewContextAsync();
        var page = await person.NewPageAsync();
        await page.GotoAsync(PageUrl(room));
        await Expect(page.Locator("#status")).ToHaveTextAsync("live");

        using var client = factory.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/rooms/{room}/events")
        {
            Content = JsonContent.Create(new { type = "goal", data = new { text = "<b>1-0</b>" } }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PresenceFactory.PublishKey);
        (await client.SendAsync(request)).EnsureSuccessStatusCode();

        var item = page.Locator("#events li").First;
        await Expect(item).ToContainTextAsync("#1 goal");
        await Expect(item).ToContainTextAsync("""{"text":"<b>1-0</b>"}""");
        await Expect(page.Locator("#events b")).ToHaveCountAsync(0);
    }
}
