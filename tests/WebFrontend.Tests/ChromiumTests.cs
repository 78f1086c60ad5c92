using Microsoft.Playwright;

namespace Presence.WebFrontend.Tests;

/// <summary>Tests in headless Chromium (Debian's <c>chromium</c> package, or <c>CHROMIUM_PATH</c>): a browser per test.</summary>
public abstract class ChromiumTests : IAsyncLifetime
{
    private IPlaywright _playwright = null!;

    protected IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new()
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
        await Browser.DisposeAsync();
        _playwright.Dispose();
    }

    protected static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);
}
