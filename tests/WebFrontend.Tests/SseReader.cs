using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Presence.WebFrontend.Tests;

/// <summary>One parsed SSE block: an event, a comment, or a retry field.</summary>
public sealed record SseMessage(string? Event, string? Data, string? Id, string? Comment, int? Retry)
{
    public PresenceCounts Presence => JsonSerializer.Deserialize<PresenceCounts>(Data!, JsonSerializerOptions.Web)!;

    public GroupCounts Group => JsonSerializer.Deserialize<GroupCounts>(Data!, JsonSerializerOptions.Web)!;
}

public sealed record PresenceCounts(string Room, int Watching, int Connections, long Version, int Idle);

public sealed record GroupCounts(string Group, int Watching, int Connections, int Rooms, long Version);

/// <summary>Reads a raw event stream as it arrives, the way an independent client would.</summary>
public sealed class SseReader : IAsyncDisposable
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;

    private SseReader(HttpResponseMessage response, Stream body)
    {
        _response = response;
        _reader = new StreamReader(body, Encoding.UTF8);
    }

    public HttpResponseHeaders Headers => _response.Headers;

    public HttpContentHeaders ContentHeaders => _response.Content.Headers;

    public static async Task<SseReader> OpenAsync(HttpClient client, string url, string? lastEventId = null, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        return new SseReader(response, await response.Content.ReadAsStreamAsync());
    }

    /// <summary>The next block, whatever it is.</summary>
    public async Task<SseMessage> NextAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cancellation.CancelAfter(timeout ?? DefaultTimeout);
        string? type = null, id = null, comment = null;
        int? retry = null;
        var data = new List<string>();
        while (true)
        {
            var line = await _reader.ReadLineAsync(cancellation.Token)
                ?? throw new EndOfStreamException("The server closed the event stream.");
            if (line.Length == 0)
            {
                if (type is null && id is null && comment is null && retry is null && data.Count == 0)
                {
                    continue;
                }
                return new SseMessage(type ?? (data.Count > 0 ? "message" : null),
                    data.Count > 0 ? string.Join('\n', data) : null, id, comment, retry);
            }
            if (line.StartsWith(':'))
            {
                comment = line[1..].TrimStart();
                continue;
            }
            var colon = line.IndexOf(':');
            var (field, value) = colon < 0 ? (line, "") : (line[..colon], line[(colon + 1)..]);
            value = value.StartsWith(' ') ? value[1..] : value;
            switch (field)
            {
                case "event": type = value; break;
                case "data": data.Add(value); break;
                case "id": id = value; break;
                case "retry": retry = int.Parse(value); break;
            }
        }
    }

    /// <summary>Skips blocks until one matches; comments and other events are passed over.</summary>
    public async Task<SseMessage> WaitForAsync(Func<SseMessage, bool> expected, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var remaining = deadline - DateTime.UtcNow;
            var message = await NextAsync(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
            if (expected(message))
            {
                return message;
            }
        }
    }

    public async Task<PresenceCounts> WaitForPresenceAsync(Func<PresenceCounts, bool> expected, TimeSpan? timeout = null)
    {
        var message = await WaitForAsync(m => m.Event == "presence" && expected(m.Presence), timeout);
        return message.Presence;
    }

    /// <summary>The next feed event (neither presence nor comment).</summary>
    public Task<SseMessage> NextFeedEventAsync(TimeSpan? timeout = null) =>
        WaitForAsync(m => m.Event is not null && m.Event != "presence", timeout);

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        return ValueTask.CompletedTask;
    }
}
