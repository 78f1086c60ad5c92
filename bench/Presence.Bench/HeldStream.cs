using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Presence.Bench;

/// <summary>
/// An event stream held as cheaply as a client can: one socket, a hand-written GET, a check that
/// the answer is a 200 whose first event (the counts) has arrived, then reads that throw the bytes
/// away, or only pick out the event ids. The bench holds tens of thousands of these, and a heavier
/// client would take from the two cores the server under test needs.
/// </summary>
internal sealed class HeldStream : IAsyncDisposable
{
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();
    private static readonly byte[] FirstEvent = "event: presence"u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();

    public const int SourceAddresses = 16;

    private readonly Socket _socket;
    private readonly EventIdScanner? _ids;
    private Task _draining = Task.CompletedTask;

    private HeldStream(Socket socket, EventIdScanner? ids) => (_socket, _ids) = (socket, ids);

    /// <summary>
    /// Opens <paramref name="count"/> streams (stream i to <paramref name="target"/>(i)), 200 at a time,
    /// from 16 source addresses starting at 127.0.0.<paramref name="firstSource"/>.
    /// </summary>
    public static Task<HeldStream[]> OpenManyAsync(int count, Func<int, (Uri Server, string Path)> target, int firstSource,
        Action<long, long>? onEventId = null) =>
        Load.OpenManyAsync(count, (i, cancellationToken) => OpenAsync(i, target, firstSource, onEventId, cancellationToken));

    /// <summary>
    /// Tries to open <paramref name="count"/> streams as <see cref="OpenManyAsync"/> does; a stream the
    /// server refuses, or a connection that fails, is tallied (by status code, or as <c>error</c>) in the
    /// outcomes beside the <c>200</c>s instead of failing them all.
    /// </summary>
    public static async Task<(HeldStream[] Held, Dictionary<string, int> Outcomes)> TryOpenManyAsync(int count,
        Func<int, (Uri Server, string Path)> target, int firstSource)
    {
        var outcomes = new ConcurrentDictionary<string, int>();
        void Tally(string outcome) => outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
        var streams = await Load.OpenManyAsync(count, async (i, cancellationToken) =>
        {
            try
            {
                var stream = await OpenAsync(i, target, firstSource, onEventId: null, cancellationToken);
                Tally("200");
                return stream;
            }
            catch (StreamRefusedException refused)
            {
                Tally(refused.Status.ToString(CultureInfo.InvariantCulture));
            }
            catch (Exception exception) when (exception is IOException or SocketException)
            {
                Tally("error");
            }
            return null;
        });
        return ([.. streams.OfType<HeldStream>()], outcomes.ToDictionary());
    }

    private static Task<HeldStream> OpenAsync(int i, Func<int, (Uri Server, string Path)> target, int firstSource, Action<long, long>? onEventId,
        CancellationToken cancellationToken)
    {
        var (server, path) = target(i);
        Load.RequireLoopback(server);
        return OpenAsync(IPAddress.Parse($"127.0.0.{firstSource + i % SourceAddresses}"), server, path, cancellationToken, onEventId);
    }

    /// <summary>Opens a stream; <paramref name="onEventId"/>, if given, gets each event id with the timestamp it arrived at.</summary>
    private static async Task<HeldStream> OpenAsync(IPAddress source, Uri server, string path, CancellationToken cancellationToken,
        Action<long, long>? onEventId)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var stream = new HeldStream(socket, onEventId is null ? null : new EventIdScanner(onEventId));
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(IPAddress.Parse(server.Host), server.Port, cancellationToken);
            var request = Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {server.Authority}\r\nAccept: text/event-stream\r\n\r\n");
            await socket.SendAsync(request, SocketFlags.None, cancellationToken);
            await stream.ReadFirstEventAsync(cancellationToken);
            stream._draining = stream.DrainAsync();
            return stream;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task ReadFirstEventAsync(CancellationToken cancellationToken)
    {
        var received = new byte[8192];
        var length = 0;
        int body;
        while (!HasFirstEvent(received.AsSpan(0, length), out body))
        {
            if (body > 0 && !received.AsSpan().StartsWith("HTTP/1.1 200 "u8))
            {
                throw new StreamRefusedException(int.Parse(received.AsSpan(9, 3), CultureInfo.InvariantCulture));
            }
            if (length == received.Length)
            {
                throw new IOException("no event in the first 8 KB of the response");
            }
            var read = await _socket.ReceiveAsync(received.AsMemory(length), SocketFlags.None, cancellationToken);
            if (read == 0)
            {
                throw new IOException("the server closed the stream before its first event");
            }
            length += read;
        }
        if (_ids is not null && received.AsSpan(0, body).IndexOf("Transfer-Encoding: chunked"u8) < 0)
        {
            throw new IOException("the event ids are read from a chunked response body, and this one is not chunked");
        }
        _ids?.Scan(received.AsSpan(body, length - body), Stopwatch.GetTimestamp());
    }

    /// <summary>Whether the response's first event is complete; <paramref name="body"/>: where the body starts, 0 until the headers are complete.</summary>
    private static bool HasFirstEvent(ReadOnlySpan<byte> response, out int body)
    {
        var headerEnd = response.IndexOf(HeaderEnd);
        body = headerEnd < 0 ? 0 : headerEnd + HeaderEnd.Length;
        if (headerEnd < 0)
        {
            return false;
        }
        var firstEvent = response[body..].IndexOf(FirstEvent);
        return firstEvent >= 0 && response[(body + firstEvent)..].IndexOf(EventEnd) >= 0;
    }

    /// <summary>Waits for bytes without holding a buffer (a zero-byte read), then reads them (and scans them for ids).</summary>
    private async Task DrainAsync()
    {
        try
        {
            while (true)
            {
                await _socket.ReceiveAsync(Memory<byte>.Empty, SocketFlags.None);
                var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
                var read = await _socket.ReceiveAsync(buffer, SocketFlags.None);
                _ids?.Scan(buffer.AsSpan(0, read), Stopwatch.GetTimestamp());
                ArrayPool<byte>.Shared.Return(buffer);
                if (read == 0)
                {
                    return;
                }
            }
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // Closed by us, or by the server.
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        await _draining;
    }
}

/// <summary>The server answered the stream's request with another status than 200.</summary>
internal sealed class StreamRefusedException(int status) : IOException($"the server answered {status}")
{
    public int Status { get; } = status;
}
