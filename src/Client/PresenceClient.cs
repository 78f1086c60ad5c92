using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Presence.Client;

/// <summary>
/// A client of the Presence service: watch a room (counts and events, reconnecting on its own),
/// publish to it, read its snapshot and the busiest rooms.
/// </summary>
/// <param name="http">
/// An HTTP client whose <see cref="HttpClient.BaseAddress"/> is the service's root (paths are
/// resolved against it). Its <see cref="HttpClient.Timeout"/> bounds only the opening of a stream,
/// not how long it is read.
/// </param>
/// <param name="publishKey">
/// The key (or publish token) sent as <c>Authorization: Bearer</c> by <see cref="PublishAsync"/>;
/// null to send the HTTP client's own default <c>Authorization</c>, if it has one.
/// </param>
public sealed class PresenceClient(HttpClient http, string? publishKey = null)
{
    /// <summary>Until the server's <c>retry:</c> arrives.</summary>
    private static readonly TimeSpan DefaultRetry = TimeSpan.FromSeconds(3);

    /// <summary>Back-off doubles while the server cannot be reached, up to this (or the server's <c>retry:</c> if longer).</summary>
    private static readonly TimeSpan MaxBackOff = TimeSpan.FromSeconds(30);

    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    /// <summary>
    /// The room's counts and events as they happen, for as long as the enumeration goes on. It starts
    /// with the room's current counts (and, with <see cref="WatchOptions.LastEventId"/>, the events
    /// after that id), then yields <see cref="PresenceEvent"/>, <see cref="FeedEvent"/> and
    /// <see cref="GapEvent"/> as they arrive.
    /// </summary>
    /// <remarks>
    /// When the stream ends or breaks, or the server answers 5xx, 408 or 429, the client yields a
    /// <see cref="ReconnectingEvent"/>, waits the server's <c>retry:</c> interval (doubled after each
    /// failed attempt in a row, or the answer's <c>Retry-After</c> if longer; plus up to half again at random,
    /// so that a crowd does not come back at once) and opens the stream again with
    /// <c>Last-Event-ID</c>: it starts again with the room's counts as they are then, and the feed
    /// events missed meanwhile, in order, none twice. Cancelling <paramref name="cancellationToken"/> ends
    /// the enumeration with an <see cref="OperationCanceledException"/>.
    /// </remarks>
    /// <param name="room">The room's name.</param>
    /// <param name="options">Viewer id, counted or not, where to start, subscribe token.</param>
    /// <param name="cancellationToken">Ends the enumeration (the stream is closed at once).</param>
    /// <exception cref="PresenceException">The server refused the stream for good: any other 4xx (a bad room name or viewer 400, no or a bad token 401, a token for other rooms 403).</exception>
    public async IAsyncEnumerable<RoomEvent> WatchAsync(
        string room, WatchOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        options ??= new WatchOptions();
        var lastEventId = options.LastEventId;
        var retry = DefaultRetry;
        var failures = 0;
        while (true)
        {
            var (response, error) = await OpenAsync(room, options, lastEventId, cancellationToken);
            if (response is not null)
            {
                failures = 0;
                using (response)
                {
                    var parser = SseParser.Create(await response.Content.ReadAsStreamAsync(cancellationToken), ParseData);
                    await using var items = parser.EnumerateAsync(cancellationToken).GetAsyncEnumerator(cancellationToken);
                    while (true)
                    {
                        (var more, error) = await MoveNextAsync(items, cancellationToken);
                        if (!more)
                        {
                            break;
                        }
                        if (ToEvent(room, items.Current) is not { } roomEvent)
                        {
                            continue;
                        }
                        // After a gap the client has been told: asking again from before it would only repeat it.
                        lastEventId = roomEvent switch { FeedEvent feedEvent => feedEvent.Id, GapEvent gap => gap.To, _ => lastEventId };
                        yield return roomEvent;
                    }
                    if (parser.ReconnectionInterval > TimeSpan.Zero)
                    {
                        retry = parser.ReconnectionInterval;
                    }
                }
            }
            else
            {
                failures++;
            }

            var backOff = BackOff(retry, failures);
            var delay = Jitter((error as PresenceException)?.RetryAfter is { } retryAfter && retryAfter > backOff ? retryAfter : backOff);
            yield return new ReconnectingEvent(room, delay, error);
            await Task.Delay(delay, cancellationToken);
        }
    }

    /// <summary>The room's snapshot (<c>GET /rooms/{room}</c>).</summary>
    /// <param name="room">The room's name.</param>
    /// <param name="accessToken">A subscribe token, for a private room.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="PresenceException">The service answered with an error.</exception>
    public async Task<RoomSnapshot> GetAsync(string room, string? accessToken = null, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, RoomPath(room));
        Authorize(request, accessToken);
        return await SendAsync<RoomSnapshot>(request, cancellationToken);
    }

    /// <summary>The busiest public rooms, most watched first (<c>GET /rooms?top=N</c>).</summary>
    /// <param name="count">How many: 1 to 1000.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <exception cref="PresenceException">The service answered with an error.</exception>
    public async Task<IReadOnlyList<TopRoom>> GetTopAsync(int count = 10, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"rooms?top={count.ToString(CultureInfo.InvariantCulture)}");
        return await SendAsync<TopRoom[]>(request, cancellationToken);
    }

    /// <summary>
    /// Publishes an event to the room (<c>POST /rooms/{room}/events</c>); every watcher gets it. Not
    /// retried: after a 503 the event may still have been stored, so trying again is the caller's choice.
    /// </summary>
    /// <typeparam name="TData">Any type <see cref="JsonSerializer"/> writes (a <see cref="JsonElement"/> too).</typeparam>
    /// <param name="room">The room's name.</param>
    /// <param name="type">The event's type: 1 to 64 letters, digits, <c>-</c>, <c>_</c> or <c>.</c>; not <c>presence</c> or <c>gap</c>.</param>
    /// <param name="data">The event's data, at most 64 KiB as compact JSON.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The id the room gave the event.</returns>
    /// <exception cref="PresenceException">The service answered with an error (400, 401, 403, 413, 429, 503, ...).</exception>
    public async Task<long> PublishAsync<TData>(string room, string type, TData data, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{RoomPath(room)}/events")
        {
            Content = JsonContent.Create(new PublishBody<TData>(type, data), options: Json),
        };
        Authorize(request, publishKey);
        return (await SendAsync<Created>(request, cancellationToken)).Id;
    }

    /// <summary>The open stream, or why it is not open; throws for an answer that will not change.</summary>
    private async Task<(HttpResponseMessage? Response, Exception? Error)> OpenAsync(
        string room, WatchOptions options, long? lastEventId, CancellationToken cancellationToken)
    {
        var query = new List<string>();
        if (options.Viewer is not null)
        {
            query.Add($"viewer={Uri.EscapeDataString(options.Viewer)}");
        }
        if (!options.Count)
        {
            query.Add("count=false");
        }
        using var request = new HttpRequestMessage(HttpMethod.Get,
            $"{RoomPath(room)}/events{(query.Count > 0 ? "?" + string.Join('&', query) : "")}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is { } id)
        {
            request.Headers.Add("Last-Event-ID", id.ToString(CultureInfo.InvariantCulture));
        }
        Authorize(request, options.AccessToken);

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (Exception exception) when (IsTransient(exception, cancellationToken))
        {
            return (null, exception);
        }
        if (response.IsSuccessStatusCode)
        {
            return (response, null);
        }
        using (response)
        {
            var refusal = await PresenceException.ReadAsync(response, cancellationToken);
            return (int)response.StatusCode is >= 500 or 408 or 429 ? (null, refusal) : throw refusal;
        }
    }

    /// <summary>Whether there is a next item; if not, how the stream broke (null: the server ended it).</summary>
    private static async Task<(bool More, Exception? Error)> MoveNextAsync(IAsyncEnumerator<SseItem<JsonElement>> items, CancellationToken cancellationToken)
    {
        try
        {
            return (await items.MoveNextAsync(), null);
        }
        catch (Exception exception) when (IsTransient(exception, cancellationToken))
        {
            return (false, exception);
        }
    }

    /// <summary>A network error or an HTTP client timeout; never the caller's cancellation.</summary>
    private static bool IsTransient(Exception exception, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested && exception is IOException or HttpRequestException or OperationCanceledException;

    private static JsonElement ParseData(string eventType, ReadOnlySpan<byte> data) => JsonSerializer.Deserialize<JsonElement>(data);

    private static RoomEvent? ToEvent(string room, SseItem<JsonElement> item) => item.EventType switch
    {
        "presence" => item.Data.Deserialize<PresenceEvent>(Json),
        "gap" => new GapEvent(room, item.Data.GetProperty("from").GetInt64(), item.Data.GetProperty("to").GetInt64()),
        _ => long.TryParse(item.EventId, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? new FeedEvent(room, id, item.EventType, item.Data)
            : null, // not one of the room's numbered events
    };

    /// <summary>The server's interval after a lost stream or a first failed attempt, doubling with each further one.</summary>
    private static TimeSpan BackOff(TimeSpan retry, int failures) =>
        TimeSpan.FromTicks(Math.Min(retry.Ticks << Math.Clamp(failures - 1, 0, 16), Math.Max(retry.Ticks, MaxBackOff.Ticks)));

    private static TimeSpan Jitter(TimeSpan delay) => delay * (1 + Random.Shared.NextDouble() / 2);

    private async Task<T> SendAsync<T>(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw await PresenceException.ReadAsync(response, cancellationToken);
        }
        return await response.Content.ReadFromJsonAsync<T>(Json, cancellationToken)
            ?? throw new JsonException($"{request.RequestUri} answered null");
    }

    private static void Authorize(HttpRequestMessage request, string? token)
    {
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    private static string RoomPath(string room) => $"rooms/{Uri.EscapeDataString(room)}";

    private sealed record PublishBody<TData>(string Type, TData Data);

    private sealed record Created(long Id);
}
