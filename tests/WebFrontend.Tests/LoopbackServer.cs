using System.Net;
using System.Net.Sockets;
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

    private static readonly int EphemeralPortsStart = ReadEphemeralPortsStart();
    private static int _lastPort = Random.Shared.Next(FreePortsCount);

    private const int FreePortsCount = 16_384;

    /// <summary>
    /// A free loopback port for a server the test starts itself (a process, or a port it must know
    /// before starting), below the kernel's ephemeral ports: one the kernel lends for port 0 is also
    /// lent to outgoing connections, and one was taken so between the test's pick and the server's
    /// bind (a silo exited with "address already in use", once in thirty cluster test runs).
    /// </summary>
    public static int FreePort()
    {
        var lowest = Math.Max(1024, EphemeralPortsStart - FreePortsCount);
        while (true)
        {
            var port = lowest + (int)((uint)Interlocked.Increment(ref _lastPort) % (uint)(EphemeralPortsStart - lowest));
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException)
            {
                // In use (another test process's server): the next one.
            }
        }
    }

    private static int ReadEphemeralPortsStart()
    {
        const string range = "/proc/sys/net/ipv4/ip_local_port_range";
        return File.Exists(range) ? int.Parse(File.ReadAllText(range).Split('\t', ' ')[0]) : 32_768;
    }

    /// <summary>Where the started server of <paramref name="services"/> listens.</summary>
    public static Uri ListeningAddress(this IServiceProvider services) =>
        new(services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First());
}
