using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Hosting;

namespace Presence.WebFrontend.Tests;

/// <summary>The service with a departure grace of 2 s.</summary>
public sealed class GraceFactory : PresenceFactory
{
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(2);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Presence:DepartureGraceSeconds", Grace.TotalSeconds.ToString(CultureInfo.InvariantCulture));
    }
}

/// <summary>What a watcher sees (an uncounted stream) while viewers leave and come back, on real time.</summary>
public sealed class GraceStreamTests(GraceFactory factory) : IClassFixture<GraceFactory>
{
    private readonly HttpClient _client = factory.CreateStreamingClient();

    private static string NewRoom() => $"room-{Guid.NewGuid():N}";

    [Fact]
    public async Task Reload_WithinTheGrace_WatcherSeesNoDip_WhileAViewerWhoLeftDropsAfterIt()
    {
        var room = NewRoom();
        await using var watcher = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?count=false");
        var alice = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?viewer=alice");
        var carol = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?viewer=carol");
        await watcher.WaitForPresenceAsync(p => p.Connections == 2);
        var seen = new List<PresenceCounts>();

        // Both close; alice's page reloads, carol is gone for good: her drop is the sign the grace is over.
        var closed = Stopwatch.StartNew();
        await alice.DisposeAsync();
        await carol.DisposeAsync();
        await using var reloaded = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?viewer=alice");
        var final = await watcher.WaitForPresenceAsync(p => { seen.Add(p); return p.Watching < 2; });
        closed.Stop();

        Assert.True(closed.Elapsed >= GraceFactory.Grace, $"a viewer dropped after {closed.Elapsed}");
        Assert.All(seen.SkipLast(1), p => Assert.Equal(2, p.Watching));
        Assert.Equal((1, 1), (final.Watching, final.Connections));
        Assert.All(seen.Zip(seen.Skip(1)), pair => Assert.True(pair.Second.Version > pair.First.Version));
    }

    [Fact]
    public async Task Leave_NamedViewer_ConnectionsDropAtOnce_WatchingAfterTheGrace()
    {
        var room = NewRoom();
        await using var watcher = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?count=false");
        var alice = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?viewer=alice");
        await watcher.WaitForPresenceAsync(p => p.Connections == 1);

        var left = Stopwatch.StartNew();
        await alice.DisposeAsync();
        var closed = await watcher.WaitForPresenceAsync(p => p.Connections == 0);
        var gone = await watcher.WaitForPresenceAsync(p => p.Watching == 0);
        left.Stop();

        Assert.Equal(1, closed.Watching);
        Assert.True(left.Elapsed >= GraceFactory.Grace, $"gone after {left.Elapsed}");
        Assert.Equal(0, gone.Connections);
    }

    [Fact]
    public async Task Leave_AnonymousConnection_DropsAtOnce()
    {
        var room = NewRoom();
        await using var watcher = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?count=false");
        var anonymous = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");
        await watcher.WaitForPresenceAsync(p => p.Connections == 1);

        var left = Stopwatch.StartNew();
        await anonymous.DisposeAsync();
        var gone = await watcher.WaitForPresenceAsync(p => p.Connections == 0);
        left.Stop();

        Assert.Equal(0, gone.Watching);
        Assert.True(left.Elapsed < GraceFactory.Grace, $"gone after {left.Elapsed}");
    }
}
