using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend.Tests;

/// <summary>The service with leases of 1 s: its renewal service must keep its connections counted.</summary>
public sealed class ShortLeaseFactory : PresenceFactory
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Presence:LeaseSeconds", "1");
    }
}

public sealed class LeaseRenewalTests(ShortLeaseFactory factory) : IClassFixture<ShortLeaseFactory>
{
    [Fact]
    public async Task OpenConnection_OutlivesItsLease_WhileADeadFrontEndsConnectionsLapse()
    {
        var room = $"room-{Guid.NewGuid():N}";
        await using var stream = await SseReader.OpenAsync(factory.CreateStreamingClient(), $"/rooms/{room}/events");
        // Two connections of one viewer on a front end that never renews, admitted after the open one.
        var presence = factory.Services.GetRequiredService<IGrainFactory>().GetGrain<IPresenceGrain>(room);
        await presence.JoinAsync("front-end-that-died", [new Member(Guid.NewGuid(), "ghost")]);
        await presence.JoinAsync("front-end-that-died", [new Member(Guid.NewGuid(), "ghost")]);
        await stream.WaitForPresenceAsync(p => p.Connections == 3);

        // Unrenewed, the open connection's lease would lapse first, taking its viewer with it.
        var firstViewerGone = await stream.WaitForPresenceAsync(p => p.Watching < 2, TimeSpan.FromSeconds(10));

        Assert.Equal((1, 1), (firstViewerGone.Watching, firstViewerGone.Connections));
    }
}
