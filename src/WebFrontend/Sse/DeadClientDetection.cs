using System.Net.Sockets;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Presence.WebFrontend.Sse;

/// <summary>
/// Drops clients that vanish without a FIN or RST (unplugged, suspended, forgotten by a NAT): the
/// kernel aborts their connection, Kestrel aborts the request, and the event stream leaves its
/// room. Set on every TCP socket that Kestrel accepts, whatever its endpoints (<c>Urls</c>,
/// <c>--urls</c>, the <c>Kestrel</c> section); a TestServer has no sockets and is left as it is.
/// </summary>
internal static class DeadClientDetection
{
    /// <summary>Linux's <c>IPPROTO_TCP</c> and <c>TCP_USER_TIMEOUT</c> (milliseconds), which .NET does not name.</summary>
    private const int IpProtoTcp = 6, TcpUserTimeout = 18;

    /// <summary>Keep-alive probes at most, spread over <see cref="SseOptions.DeadClientSeconds"/>.</summary>
    private const int MaxProbes = 10;

    public static IServiceCollection AddDeadClientDetection(this IServiceCollection services) =>
        services.AddOptions<KestrelServerOptions>()
            .Configure<IOptions<SseOptions>>((kestrel, sse) => kestrel.ConfigureEndpointDefaults(endpoint => endpoint.Use(next => connection =>
            {
                if (connection.Features.Get<IConnectionSocketFeature>()?.Socket is { ProtocolType: ProtocolType.Tcp } socket)
                {
                    Configure(socket, sse.Value);
                }
                return next(connection);
            })))
            .Services;

    private static void Configure(Socket socket, SseOptions options)
    {
        // An event stream always has data in flight within a keep-alive interval (the comment), so
        // a vanished client leaves sent data unacknowledged: the connection is aborted when it has
        // been so for DeadClientSeconds. Windows and macOS have no such option that .NET can set:
        // there such a connection lasts until the system gives up retransmitting.
        if (OperatingSystem.IsLinux())
        {
            socket.SetRawSocketOption(IpProtoTcp, TcpUserTimeout, BitConverter.GetBytes((int)(options.DeadClientSeconds * 1000)));
        }

        // A connection with nothing in flight (between requests, or before its first response
        // bytes) is probed after a keep-alive interval of silence; unanswered probes abort it within
        // DeadClientSeconds (on Linux, TCP_USER_TIMEOUT decides when, whatever the count).
        var probes = (int)Math.Min(Math.Floor(options.DeadClientSeconds), MaxProbes);
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)Math.Ceiling(options.KeepAliveSeconds));
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, (int)(options.DeadClientSeconds / probes));
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, probes);
    }
}
