using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Presence.Client;

namespace Presence.WebFrontend.Tests;

/// <summary>The .NET client (<see cref="PresenceClient"/>) against the whole service in-process.</summary>
[Collection(nameof(PresenceFactory))]
public sealed class ClientTests(PresenceFactory factory)
{
    private readonly PresenceClient _presence = new(factory.CreateStreamingClient(), PresenceFactory.PublishKey);

    private static string NewRoom() => $"client-{Guid.NewGuid():N}";

    [Fact]
    public async Task Watch_YieldsTypedCountsAndFeedEvents()
    {
        var room = NewRoom();
        using var timeout = new CancellationTokenSource(ClientEvents.Timeout);
        await using var tab1 = _presence.WatchAsync(room, new WatchOptions { Viewer = "alice" }, timeout.Token).GetAsyncEnumerator();
        var alone = await tab1.NextAsync<PresenceEvent>();
        await using var tab2 = _presence.WatchAsync(room, new WatchOptions { Viewer = "alice" }, timeout.Token).GetAsyncEnumerator();
        await tab2.NextAsync<PresenceEvent>();

        var twoTabs = await tab1.NextAsync<PresenceEvent>(counts => counts.Connections == 2);
        var id = await _presence.PublishAsync(room, "goal", new { team = "home", minute = 42 });
        var goal = await tab1.NextAsync<FeedEvent>();

        Assert.Equal((room, 1, 1), (alone.Room, alone.Watching, alone.Connections));
        Assert.Equal(1, twoTabs.Watching);
        Assert.True(twoTabs.Version > alone.Version);
        Assert.Equal((room, 1L, "goal"), (goal.Room, goal.Id, goal.Type));
        Assert.Equal(id, goal.Id);
        Assert.Equal("home", goal.Data.GetProperty("team").GetString());
        Assert.Equal(42, goal.Data.GetProperty("minute").GetInt32());
    }

    [Fact]
    public async Task Watch_FromAnIdOlderThanTheHistory_YieldsTheGapThenTheEventsAfterIt()
    {
        var room = NewRoom();
        const int history = 500, published = history + 7;
        for (var i = 1; i <= published; i++)
        {
            await _presence.PublishAsync(room, "n", i);
        }
        using var timeout = new CancellationTokenSource(ClientEvents.Timeout);

        await using var events = _presence.WatchAsync(room, new WatchOptions { LastEventId = 2, Count = false }, timeout.Token).GetAsyncEnumerator();
        var first = await events.NextAsync<RoomEvent>(e => e is not PresenceEvent);
        var next = await events.NextAsync<RoomEvent>(e => e is not PresenceEvent);

        Assert.Equal(new GapEvent(room, 3, 7), first);
        Assert.Equal((8L, 8), (Assert.IsType<FeedEvent>(next).Id, ((FeedEvent)next).Data.GetInt32()));
    }

    [Fact]
    public async Task Watch_Cancelled_EndsPromptly_AndTheConnectionLeavesTheRoom()
    {
        var room = NewRoom();
        using var timeout = new CancellationTokenSource(ClientEvents.Timeout);
        await using var observer = _presence.WatchAsync(room, new WatchOptions { Count = false }, timeout.Token).GetAsyncEnumerator();
        await observer.NextAsync<PresenceEvent>();
        using var cancel = new CancellationTokenSource();
        var events = _presence.WatchAsync(room, cancellationToken: cancel.Token).GetAsyncEnumerator();
        await events.NextAsync<PresenceEvent>();
        await observer.NextAsync<PresenceEvent>(counts => counts.Connections == 1);

        var waiting = events.MoveNextAsync().AsTask(); // nothing more comes: it waits on the open stream
        var cancelled = Stopwatch.StartNew();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.True(cancelled.Elapsed < TimeSpan.FromSeconds(1), $"the enumeration ended {cancelled.Elapsed} after the cancellation");
        await events.DisposeAsync();
        await observer.NextAsync<PresenceEvent>(counts => counts.Connections == 0);
    }

    [Fact]
    public async Task PublishGetAndTop_ReturnTheServiceAnswers()
    {
        var (busy, quiet) = (NewRoom(), NewRoom());
        using var timeout = new CancellationTokenSource(ClientEvents.Timeout);
        await using var a = _presence.WatchAsync(busy, new WatchOptions { Viewer = "a" }, timeout.Token).GetAsyncEnumerator();
        await using var b = _presence.WatchAsync(busy, new WatchOptions { Viewer = "b" }, timeout.Token).GetAsyncEnumerator();
        await using var c = _presence.WatchAsync(quiet, cancellationToken: timeout.Token).GetAsyncEnumerator();
        await a.NextAsync<PresenceEvent>();
        var counted = await b.NextAsync<PresenceEvent>(counts => counts.Watching == 2);
        await c.NextAsync<PresenceEvent>();

        var ids = new[] { await _presence.PublishAsync(busy, "x", 1), await _presence.PublishAsync(busy, "x", "two") };
        var snapshot = await _presence.GetAsync(busy);
        // The room directory hears of a count after the room's grain has published it.
        IEnumerable<TopRoom> top;
        var waited = Stopwatch.StartNew();
        while ((top = (await _presence.GetTopAsync(1000)).Where(r => r.Room == busy || r.Room == quiet)).Sum(r => r.Watching) != 3
               && waited.Elapsed < ClientEvents.Timeout)
        {
            await Task.Delay(20); // polling: the directory raises no event
        }

        Assert.Equal([1L, 2L], ids);
        Assert.Equal(new RoomSnapshot(busy, 2, 2, snapshot.Version, 2, Idle: 0), snapshot);
        Assert.True(snapshot.Version >= counted.Version);
        Assert.Equal([new TopRoom(busy, 2), new TopRoom(quiet, 1)], top);
    }

    [Fact]
    public async Task Publish_Refused_ThrowsPresenceException_WithStatusAndProblem()
    {
        var room = NewRoom();
        var http = factory.CreateClient();

        var noKey = await Assert.ThrowsAsync<PresenceException>(() => new PresenceClient(http).PublishAsync(room, "goal", 1));
        var wrongKey = await Assert.ThrowsAsync<PresenceException>(() => new PresenceClient(http, "not-the-key").PublishAsync(room, "goal", 1));
        var reserved = await Assert.ThrowsAsync<PresenceException>(() => _presence.PublishAsync(room, "presence", 1));
        var badRoom = await Assert.ThrowsAsync<PresenceException>(() => _presence.GetAsync("no spaces allowed"));

        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, wrongKey.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, reserved.StatusCode);
        Assert.Contains("reserved", reserved.Detail);
        Assert.Contains(reserved.Detail!, reserved.Message);
        Assert.Equal(400, reserved.Problem?.GetProperty("status").GetInt32());
        Assert.Equal((HttpStatusCode.BadRequest, "Invalid room name"), (badRoom.StatusCode, badRoom.Title));
        Assert.Null(reserved.RetryAfter);
        Assert.Equal(0, (await _presence.GetAsync(room)).LastEventId);
    }

    [Fact]
    public async Task Watch_RefusedForGood_Throws_WithoutRetrying()
    {
        using var timeout = new CancellationTokenSource(ClientEvents.Timeout);
        var elsewhere = new PresenceClient(factory.CreateClient(new WebApplicationFactoryClientOptions { BaseAddress = new Uri("http://localhost/not-here/") }));
        await using var badRoom = _presence.WatchAsync("no spaces allowed", cancellationToken: timeout.Token).GetAsyncEnumerator();
        await using var notFound = elsewhere.WatchAsync(NewRoom(), cancellationToken: timeout.Token).GetAsyncEnumerator();

        var invalid = await Assert.ThrowsAsync<PresenceException>(async () => await badRoom.MoveNextAsync());
        var missing = await Assert.ThrowsAsync<PresenceException>(async () => await notFound.MoveNextAsync());

        Assert.Equal((HttpStatusCode.BadRequest, "Invalid room name"), (invalid.StatusCode, invalid.Title));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(404, missing.Problem?.GetProperty("status").GetInt32());
    }
}

/// <summary>The service on a real socket, whose event streams a test can cut from the server's side.</summary>
public sealed class StreamDroppingFactory : KestrelPresenceFactory
{
    private readonly ConcurrentDictionary<HttpContext, string> _streams = new();

    /// <summary>Every event-stream request, in order: its path and its <c>Last-Event-ID</c> header.</summary>
    public ConcurrentQueue<(string Path, string? LastEventId)> Requests { get; } = new();

    /// <summary>Aborts (TCP reset) every open stream of the room, as a proxy restart or a network failure would; returns how many.</summary>
    public int Drop(string room)
    {
        var path = $"/rooms/{room}/events";
        var dropped = _streams.Where(stream => stream.Value == path).Select(stream => stream.Key).ToList();
        dropped.ForEach(context => context.Abort());
        return dropped.Count;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureServices(services => services.AddSingleton<IStartupFilter>(new Tracking(this)));
    }

    private sealed class Tracking(StreamDroppingFactory factory) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(async (context, nextMiddleware) =>
            {
                var path = context.Request.Path.Value ?? "";
                if (!HttpMethods.IsGet(context.Request.Method) || !path.EndsWith("/events", StringComparison.Ordinal))
                {
                    await nextMiddleware(context);
                    return;
                }
                factory.Requests.Enqueue((path, context.Request.Headers["Last-Event-ID"].FirstOrDefault()));
                factory._streams[context] = path;
                try
                {
                    await nextMiddleware(context);
                }
                finally
                {
                    factory._streams.TryRemove(context, out _);
                }
            });
            next(app);
        };
    }
}

/// <summary>The client when the server drops its stream: a real abort of the real server's connection.</summary>
public sealed class ClientReconnectTests(StreamDroppingFactory factory) : IClassFixture<StreamDroppingFactory>
{
    private readonly PresenceClient _presence = new(new HttpClient { BaseAddress = factory.Address }, PresenceFactory.PublishKey);

    [Fact]
    public async Task StreamDropped_ReconnectsAfterTheServersRetry_WithLastEventId_MissedEventsOnceInOrder()
    {
        var room = $"client-{Guid.NewGuid():N}";
        using var timeout = new CancellationTokenSource(ClientEvents.Timeout);
        await using var events = _presence.WatchAsync(room, cancellationToken: timeout.Token).GetAsyncEnumerator();
        await events.NextAsync<PresenceEvent>();
        await _presence.PublishAsync(room, "n", 1);
        await _presence.PublishAsync(room, "n", 2);
        Assert.Equal(1, (await events.NextAsync<FeedEvent>()).Id);
        Assert.Equal(2, (await events.NextAsync<FeedEvent>()).Id);

        Assert.Equal(1, factory.Drop(room));
        var reconnecting = await events.NextAsync<ReconnectingEvent>();
        // The client waits for its next MoveNext before it reconnects: these are published while it is away.
        await _presence.PublishAsync(room, "n", 3);
        await _presence.PublishAsync(room, "n", 4);
        var replayed = new[] { await events.NextAsync<FeedEvent>(), await events.NextAsync<FeedEvent>() };
        await _presence.PublishAsync(room, "n", 5);
        var live = await events.NextAsync<FeedEvent>();

        Assert.NotNull(reconnecting.Error);
        Assert.InRange(reconnecting.Delay, TimeSpan.FromMilliseconds(1500), TimeSpan.FromMilliseconds(2250)); // the factory's retry: 1500, jittered
        Assert.Equal([3L, 4L, 5L], replayed.Append(live).Select(e => e.Id));
        Assert.Equal([3, 4, 5], replayed.Append(live).Select(e => e.Data.GetInt32()));
        Assert.Equal([null, "2"], factory.Requests.Where(r => r.Path == $"/rooms/{room}/events").Select(r => r.LastEventId));
    }

    [Fact]
    public async Task CancelledWhileWaitingToReconnect_EndsAtOnce()
    {
        var room = $"client-{Guid.NewGuid():N}";
        using var cancel = new CancellationTokenSource(ClientEvents.Timeout);
        await using var events = _presence.WatchAsync(room, cancellationToken: cancel.Token).GetAsyncEnumerator();
        await events.NextAsync<PresenceEvent>();
        Assert.Equal(1, factory.Drop(room));
        var reconnecting = await events.NextAsync<ReconnectingEvent>();

        var waiting = events.MoveNextAsync().AsTask(); // now in the reconnection delay
        var cancelled = Stopwatch.StartNew();
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        Assert.True(cancelled.Elapsed < reconnecting.Delay / 2, $"ended {cancelled.Elapsed} after the cancellation, in a delay of {reconnecting.Delay}");
        Assert.Single(factory.Requests, r => r.Path == $"/rooms/{room}/events");
    }
}

internal static class ClientEvents
{
    /// <summary>What a test may take at most: its watches are cancelled then.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>The next event of type <typeparamref name="T"/> that matches; others are passed over.</summary>
    public static async Task<T> NextAsync<T>(this IAsyncEnumerator<RoomEvent> events, Func<T, bool>? expected = null) where T : RoomEvent
    {
        while (await events.MoveNextAsync())
        {
            if (events.Current is T wanted && (expected is null || expected(wanted)))
            {
                return wanted;
            }
        }
        throw new EndOfStreamException("the watch ended");
    }
}
