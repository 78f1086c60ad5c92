using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Mvc;

// A minimal ASP.NET Core SSE broadcaster with the service's routes: a set of connections per room,
// each with a queue its request writes and flushes from. Counts are broadcast on every join and
// leave, feed events to everyone in the room. With Baseline:HoldOnly=true it only holds
// connections: a joining connection gets the count in its own queue, nothing is broadcast on a
// join or a leave (the fair reference for memory per held connection).
var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
var app = builder.Build();
var rooms = new ConcurrentDictionary<string, Room>();
var holdOnly = app.Configuration.GetValue<bool>("Baseline:HoldOnly");

app.MapGet("/rooms/{room}/events", async (string room, [FromQuery(Name = "count")] bool? countParameter, HttpContext context) =>
{
    var state = rooms.GetOrAdd(room, _ => new Room());
    var queue = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    var counted = countParameter ?? true;
    state.Connections.TryAdd(queue, counted);
    context.Response.ContentType = "text/event-stream";
    context.Response.Headers.CacheControl = "no-cache";
    CountChanged(state, room, counted ? 1 : 0, queue);
    try
    {
        await context.Response.WriteAsync("retry: 3000\n\n");
        await foreach (var frame in queue.Reader.ReadAllAsync(context.RequestAborted))
        {
            await context.Response.Body.WriteAsync(frame, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }
    catch (OperationCanceledException)
    {
    }
    finally
    {
        state.Connections.TryRemove(queue, out _);
        CountChanged(state, room, counted ? -1 : 0, joining: null);
    }
});

app.MapPost("/rooms/{room}/events", async (string room, HttpRequest request) =>
{
    using var body = await JsonDocument.ParseAsync(request.Body);
    var state = rooms.GetOrAdd(room, _ => new Room());
    var id = Interlocked.Increment(ref state.LastId);
    var type = body.RootElement.TryGetProperty("type", out var t) ? t.GetString() : "message";
    var data = body.RootElement.GetProperty("data").GetRawText();
    Broadcast(state, Encoding.UTF8.GetBytes($"id: {id}\nevent: {type}\ndata: {data}\n\n"));
    return Results.Json(new { id = id.ToString() }, statusCode: 201);
});

app.MapGet("/rooms/{room}", (string room) =>
{
    var count = rooms.TryGetValue(room, out var state) ? Volatile.Read(ref state.Counted) : 0;
    return Results.Json(new { room, watching = count, connections = count, version = 0, lastEventId = "0" });
});

app.Run();

void CountChanged(Room state, string room, int change, Channel<byte[]>? joining)
{
    if (!holdOnly)
    {
        BroadcastCount(state, room, change);
        return;
    }
    var count = Interlocked.Add(ref state.Counted, change);
    joining?.Writer.TryWrite(Presence(room, count));
}

static byte[] Presence(string room, int count) => Encoding.UTF8.GetBytes(
    $"event: presence\ndata: {{\"room\":\"{room}\",\"watching\":{count},\"connections\":{count},\"version\":0,\"idle\":0}}\n\n");

// Changing the count and queueing it for everyone in one step: otherwise two joins can queue
// their counts in the wrong order and leave every watcher on a stale one.
static void BroadcastCount(Room room, string name, int change)
{
    lock (room)
    {
        room.Counted += change;
        Broadcast(room, Presence(name, room.Counted));
    }
}

static void Broadcast(Room room, byte[] frame)
{
    foreach (var queue in room.Connections.Keys)
    {
        queue.Writer.TryWrite(frame);
    }
}

internal sealed class Room
{
    /// <summary>Each connection's queue, and whether it is counted.</summary>
    public readonly ConcurrentDictionary<Channel<byte[]>, bool> Connections = new();
    public int Counted;
    public long LastId;
}
