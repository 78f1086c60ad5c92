using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Presence.WebFrontend.Tests;

/// <summary>One POST the receiver got: the exact body bytes, the signature header, and the status it answered.</summary>
public sealed record WebhookDelivery(byte[] Body, string? Signature, int Status)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;
}

/// <summary>
/// A webhook receiver on a real Kestrel on a free loopback port: it records every POST to
/// <c>/hooks</c> by the room in its body as it arrives, and when told to, answers 500 to a room's next
/// requests or holds its answers back.
/// </summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, Channel<WebhookDelivery>> _rooms = new();
    private readonly Dictionary<string, int> _failures = [];
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _holds = new();

    private WebhookReceiver(WebApplication app) => _app = app;

    public Uri Url => new(_app.Services.ListeningAddress(), "/hooks");

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = LoopbackServer.CreateBuilder();
        builder.Services.AddRoutingCore();
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        app.MapPost("/hooks", receiver.ReceiveAsync);
        await app.StartAsync();
        return receiver;
    }

    /// <summary>The room's next <paramref name="times"/> requests are answered 500.</summary>
    public void Fail(string room, int times)
    {
        lock (_failures)
        {
            _failures[room] = times;
        }
    }

    /// <summary>The room's requests get no answer until the returned source is completed.</summary>
    public TaskCompletionSource Hold(string room) =>
        _holds[room] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The room's next delivery, in the order they came.</summary>
    public async Task<WebhookDelivery> NextAsync(string room)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        return await Deliveries(room).Reader.ReadAsync(timeout.Token);
    }

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private async Task<IResult> ReceiveAsync(HttpRequest request)
    {
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        var bytes = body.ToArray();
        var room = JsonDocument.Parse(bytes).RootElement.GetProperty("room").GetString()!;
        var status = StatusCodes.Status200OK;
        lock (_failures)
        {
            if (_failures.TryGetValue(room, out var left) && left > 0)
            {
                _failures[room] = left - 1;
                status = StatusCodes.Status500InternalServerError;
            }
        }
        await Deliveries(room).Writer.WriteAsync(new WebhookDelivery(bytes, request.Headers["X-Presence-Signature"], status));
        if (_holds.TryGetValue(room, out var hold))
        {
            await hold.Task;
        }
        return Results.StatusCode(status);
    }

    private Channel<WebhookDelivery> Deliveries(string room) => _rooms.GetOrAdd(room, _ => Channel.CreateUnbounded<WebhookDelivery>());
}
