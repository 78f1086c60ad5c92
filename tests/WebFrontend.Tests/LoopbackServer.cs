using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Presence.WebFrontend.Tests;

/// <summary>Real Kestrel servers of the tests, each on a free loopback port.</summary>
public static class LoopbackServer
{
    /// <summary>A bare application for the other side of a test: another site, a webhook receiver.</summary>
    public static WebApplicationBuilder CreateBuilder()
    {
        var builder = WebApplication.CreateEmptyBuilder(new());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        return builder;
    }

    /// <summary>Where the started server of <paramref name="services"/> listens.</summary>
    public static Uri ListeningAddress(this IServiceProvider services) =>
        new(services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
}
