using System.Net.Sockets;
using System.Text;

namespace Presence.WebFrontend.Tests;

/// <summary>
/// The head of an answer: its status, or null if the server closed the connection without one;
/// <see cref="Body"/> only where it was read.
/// </summary>
public sealed record HttpAnswer(int? Status, string? ContentType, long? ContentLength, bool ConnectionClose, string? Body = null)
{
    public static HttpAnswer None { get; } = new(null, null, null, ConnectionClose: true);

    /// <summary>Kestrel's own refusal of malformed HTTP: no body and the connection closed.</summary>
    public bool IsKestrelRefusal => ContentType is null && ContentLength == 0 && ConnectionClose;
}

/// <summary>Sends bytes on a socket of its own, HTTP or not, and reads the head of what comes back.</summary>
public static class RawHttp
{
    private const int MaxHeadBytes = 64 * 1024;

    /// <param name="endEarly">Shut the sending side down after the bytes: a request cut short.</param>
    public static async Task<HttpAnswer> SendAsync(Uri server, byte[] request, bool endEarly, CancellationToken cancellationToken)
    {
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(server.Host, server.Port, cancellationToken);
        try
        {
            await socket.SendAsync(request, cancellationToken);
            if (endEarly)
            {
                socket.Shutdown(SocketShutdown.Send);
            }
        }
        catch (SocketException)
        {
            // The server answered and closed before it took all of it (a body over the limit): read the answer.
        }
        return Parse(await ReadHeadAsync(socket, cancellationToken));
    }

    private static async Task<string> ReadHeadAsync(Socket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxHeadBytes];
        var read = 0;
        try
        {
            while (read < buffer.Length && buffer.AsSpan(0, read).IndexOf("\r\n\r\n"u8) < 0)
            {
                var received = await socket.ReceiveAsync(buffer.AsMemory(read), cancellationToken);
                if (received == 0)
                {
                    break;
                }
                read += received;
            }
        }
        catch (SocketException)
        {
            // Reset: what arrived before it is the answer.
        }
        return Encoding.Latin1.GetString(buffer, 0, read);
    }

    private static HttpAnswer Parse(string head)
    {
        var lines = head.Split("\r\n");
        var statusLine = lines[0].Split(' ');
        if (statusLine.Length < 2 || !statusLine[0].StartsWith("HTTP/1.", StringComparison.Ordinal)
            || !int.TryParse(statusLine[1], out var status))
        {
            return HttpAnswer.None;
        }
        var headers = lines.Skip(1).TakeWhile(line => line.Length > 0)
            .Select(line => line.Split(':', 2))
            .Where(parts => parts.Length == 2)
            .ToLookup(parts => parts[0].Trim(), parts => parts[1].Trim(), StringComparer.OrdinalIgnoreCase);
        return new HttpAnswer(
            status,
            headers["Content-Type"].FirstOrDefault()?.Split(';')[0],
            long.TryParse(headers["Content-Length"].FirstOrDefault(), out var length) ? length : null,
            headers["Connection"].Any(value => value.Equals("close", StringComparison.OrdinalIgnoreCase)));
    }
}
