using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Presence.Grains.Webhooks;

/// <summary>A room became occupied (its first viewer) or vacated (its last viewer gone, after the departure grace).</summary>
public sealed record RoomOccupancyChanged(string Room, bool Occupied, DateTimeOffset At);

/// <summary>
/// Posts occupancy changes to <c>Webhooks:Url</c>, one silo-wide sender handed them by the rooms'
/// grains. Each room's notifications go out one after the other in the order they came (with their
/// retries), rooms side by side; all of it off the grains' turns, so a slow receiver never holds up
/// a room.
/// </summary>
public sealed partial class WebhookSender(
    IHttpClientFactory httpClients,
    IOptions<WebhookOptions> options,
    ILogger<WebhookSender> logger) : IDisposable
{
    public const string HttpClientName = "webhooks";
    public const string SignatureHeader = "X-Presence-Signature";

    private readonly WebhookOptions _options = options.Value;
    private readonly Dictionary<string, Queue<RoomOccupancyChanged>> _pending = [];
    private readonly CancellationTokenSource _stopping = new();

    /// <summary>Queues the notification and returns at once; it is sent after the room's earlier ones.</summary>
    public void Post(RoomOccupancyChanged change)
    {
        if (!_options.Enabled)
        {
            return;
        }
        lock (_pending)
        {
            if (_pending.TryGetValue(change.Room, out var queue))
            {
                queue.Enqueue(change); // the room's sender is running and will take it
                return;
            }
            _pending[change.Room] = new Queue<RoomOccupancyChanged>([change]);
        }
        // Task.Run: on the thread pool, not on the calling grain's scheduler.
        _ = Task.Run(() => SendRoomAsync(change.Room));
    }

    public void Dispose() => _stopping.Cancel();

    /// <summary>Sends the room's queue in order; a notification leaves the queue once sent, so a later one waits behind it.</summary>
    private async Task SendRoomAsync(string room)
    {
        while (true)
        {
            RoomOccupancyChanged? next;
            lock (_pending)
            {
                var queue = _pending[room];
                if (!queue.TryPeek(out next))
                {
                    _pending.Remove(room);
                    return;
                }
            }
            await SendAsync(next);
            lock (_pending)
            {
                _pending[room].Dequeue();
            }
        }
    }

    private async Task SendAsync(RoomOccupancyChanged change)
    {
        var type = change.Occupied ? "room.occupied" : "room.vacated";
        var body = JsonSerializer.SerializeToUtf8Bytes(new WebhookBody(type, change.Room, change.At.UtcDateTime), JsonSerializerOptions.Web);
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.Url)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        request.Headers.Add(SignatureHeader, Sign(body));
        try
        {
            // The client's resilience handler retries with back-off (see AddWebhooks).
            using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, _stopping.Token);
            if (response.IsSuccessStatusCode)
            {
                LogSent(type, change.Room);
            }
            else
            {
                LogRefused(type, change.Room, (int)response.StatusCode);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // The silo is stopping.
        }
        catch (Exception exception)
        {
            LogFailed(exception, type, change.Room);
        }
    }

    private string Sign(byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(_options.Secret!), body));

    private sealed record WebhookBody(string Type, string Room, DateTime At);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Webhook {Type} of room {Room} delivered")]
    private partial void LogSent(string type, string room);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {Type} of room {Room} refused with status {Status}; not sent again")]
    private partial void LogRefused(string type, string room, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {Type} of room {Room} could not be delivered; not sent again")]
    private partial void LogFailed(Exception exception, string type, string room);
}
