using System.Net;
using System.Net.ServerSentEvents;
using System.Net.Sockets;

namespace Presence.Bench;

/// <summary>
/// HTTP clients whose connections leave from 127.0.0.2, 127.0.0.3, ... in turn, so that a load is
/// not capped by the ephemeral ports of one (source, destination) pair. Loopback targets only.
/// </summary>
internal sealed class SseClients : IDisposable
{
    private readonly HttpClient[] _clients;
    private int _next;

    public SseClients(Uri server, int sourceAddresses = 32, int firstSourceAddress = 2)
    {
        Load.RequireLoopback(server);
        _clients = [.. Enumerable.Range(firstSourceAddress, sourceAddresses).Select(last => new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            ConnectCallback = (context, cancellationToken) => ConnectFromAsync(IPAddress.Parse($"127.0.0.{last}"), context.DnsEndPoint, cancellationToken),
        })
        {
            BaseAddress = server,
            Timeout = Timeout.InfiniteTimeSpan,
        })];
    }

    /// <summary>A client for requests that are not event streams.</summary>
    public HttpClient Any => _clients[0];

    /// <summary>Opens an event stream and returns once its first event (the counts) has arrived.</summary>
    public async Task<Watcher> OpenAsync(string path, Action<SseItem<string>, long>? onEvent = null, CancellationToken cancellationToken = default)
    {
        var client = _clients[(int)((uint)Interlocked.Increment(ref _next) % _clients.Length)];
        var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        return await Watcher.StartAsync(response, SseParser.Create(stream), onEvent ?? ((_, _) => { }));
    }

    private static async ValueTask<Stream> ConnectFromAsync(IPAddress source, DnsEndPoint target, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            socket.Bind(new IPEndPoint(source, 0));
            await socket.ConnectAsync(IPAddress.Parse(target.Host), target.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }
}

/// <summary>One open event stream; hands every event on with the timestamp it arrived at.</summary>
internal sealed class Watcher : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly CancellationTokenSource _stop = new();
    private Task _reading = Task.CompletedTask;

    private Watcher(HttpResponseMessage response) => _response = response;

    public static async Task<Watcher> StartAsync(HttpResponseMessage response, SseParser<string> parser, Action<SseItem<string>, long> onEvent)
    {
        var watcher = new Watcher(response);
        var events = parser.EnumerateAsync(watcher._stop.Token).GetAsyncEnumerator();
        if (!await events.MoveNextAsync())
        {
            throw new IOException("the event stream ended before its first event");
        }
        onEvent(events.Current, System.Diagnostics.Stopwatch.GetTimestamp());
        watcher._reading = ReadAsync(events, onEvent);
        return watcher;
    }

    private static async Task ReadAsync(IAsyncEnumerator<SseItem<string>> events, Action<SseItem<string>, long> onEvent)
    {
        try
        {
            while (await events.MoveNextAsync())
            {
                onEvent(events.Current, System.Diagnostics.Stopwatch.GetTimestamp());
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or HttpRequestException or ObjectDisposedException)
        {
            // Closed by us, or by the server.
        }
        finally
        {
            await events.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _response.Dispose();
        await _reading;
        _stop.Dispose();
    }
}
