using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Presence.WebFrontend.Tests;

/// <summary>A feed event on a multiplexed stream: <c>{"room","id","data"}</c>.</summary>
public sealed record MultiplexedEvent(string Room, string Id, JsonElement Data);

/// <summary><c>GET /events?rooms=a,b,c</c>: several rooms on one stream.</summary>
[Collection(nameof(PresenceFactory))]
public sealed class MultiRoomStreamTests(PresenceFactory factory)
{
    private readonly HttpClient _client = factory.CreateStreamingClient();

    private static string[] NewRooms(int count) => [.. Enumerable.Range(0, count).Select(i => $"multi{i}-{Guid.NewGuid():N}")];

    private static string Url(string[] rooms, string query = "") => $"/events?rooms={string.Join(',', rooms)}{query}";

    private static string Positions(string[] rooms, params int[] ids) => string.Join(',', rooms.Select((room, i) => $"{room}={ids[i]}"));

    private static MultiplexedEvent Event(SseMessage message) => JsonSerializer.Deserialize<MultiplexedEvent>(message.Data!, JsonSerializerOptions.Web)!;

    /// <summary>The retry line, then a snapshot of every room in the order listed; returns them.</summary>
    private static async Task<List<SseMessage>> OpeningAsync(SseReader stream, int rooms)
    {
        Assert.NotNull((await stream.NextAsync()).Retry);
        var snapshots = new List<SseMessage>();
        for (var i = 0; i < rooms; i++)
        {
            var snapshot = await stream.NextAsync();
            Assert.Equal("presence", snapshot.Event);
            snapshots.Add(snapshot);
        }
        return snapshots;
    }

    private async Task<PresenceCounts> SnapshotAsync(string room) => (await _client.GetFromJsonAsync<PresenceCounts>($"/rooms/{room}"))!;

    [Fact]
    public async Task ThreeRooms_CountedInEach_ASingleRoomWatcherOfOneSeesIt()
    {
        var rooms = NewRooms(3);
        await using var stream = await SseReader.OpenAsync(_client, Url(rooms));

        Assert.Equal("text/event-stream", stream.ContentHeaders.ContentType?.MediaType);
        var snapshots = await OpeningAsync(stream, 3);
        Assert.Equal(rooms, snapshots.Select(snapshot => snapshot.Presence.Room));
        Assert.All(snapshots, snapshot => Assert.Equal((1, 1), (snapshot.Presence.Watching, snapshot.Presence.Connections)));
        // The stream's starting position in every room, so that a reconnect before any event resumes exactly.
        Assert.All(snapshots, snapshot => Assert.Equal(Positions(rooms, 0, 0, 0), snapshot.Id));

        await using var single = await SseReader.OpenAsync(_client, $"/rooms/{rooms[1]}/events");
        Assert.Equal(2, (await single.WaitForPresenceAsync(_ => true)).Connections);
        var seen = await stream.WaitForPresenceAsync(counts => counts.Room == rooms[1] && counts.Connections == 2);
        Assert.Equal(2, seen.Watching);
        Assert.Equal(1, (await SnapshotAsync(rooms[0])).Connections);
        Assert.Equal(1, (await SnapshotAsync(rooms[2])).Connections);

        await stream.DisposeAsync();
        await single.WaitForPresenceAsync(counts => counts.Connections == 1, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task FeedEvents_AreTaggedWithTheirRoom_AndCarryEveryRoomsPosition()
    {
        var rooms = NewRooms(2);
        await PresenceFactory.PublishAsync(_client, rooms[0], "message", new { before = true });
        await using var stream = await SseReader.OpenAsync(_client, Url(rooms));
        var snapshots = await OpeningAsync(stream, 2);
        Assert.Equal(Positions(rooms, 1, 0), snapshots[0].Id);

        await PresenceFactory.PublishAsync(_client, rooms[1], "goal", new { n = 1 });
        await PresenceFactory.PublishAsync(_client, rooms[0], "message", new { n = 2 });
        await PresenceFactory.PublishAsync(_client, rooms[1], "message", new { n = 3 });

        var frames = new List<SseMessage>();
        for (var i = 0; i < 3; i++)
        {
            frames.Add(await stream.NextFeedEventAsync());
        }
        // In order within a room (rooms are not ordered among themselves); each id: every room's position after the frame.
        var events = frames.Select(Event).ToList();
        Assert.Equal([("goal", rooms[1], "1", 1), ("message", rooms[0], "2", 2), ("message", rooms[1], "2", 3)],
            frames.Zip(events, (frame, e) => (frame.Event, e.Room, e.Id, e.Data.GetProperty("n").GetInt32())).OrderBy(e => e.Item4));
        var positions = new[] { 1, 0 };
        foreach (var (frame, e) in frames.Zip(events))
        {
            positions[Array.IndexOf(rooms, e.Room)] = int.Parse(e.Id);
            Assert.Equal(Positions(rooms, positions), frame.Id);
        }
        var first = frames.Single(frame => frame.Event == "goal");
        Assert.Equal("""{"room":"ROOM","id":"1","data":{"n":1}}""".Replace("ROOM", rooms[1], StringComparison.Ordinal), first.Data);
    }

    [Fact]
    public async Task Reconnect_WithTheCompositeId_ReplaysEachRoomExactly_ThenLive()
    {
        var rooms = NewRooms(3);
        string lastId;
        await using (var first = await SseReader.OpenAsync(_client, Url(rooms)))
        {
            await OpeningAsync(first, 3);
            await PresenceFactory.PublishAsync(_client, rooms[0], "message", new { n = "a1" });
            await PresenceFactory.PublishAsync(_client, rooms[1], "message", new { n = "b1" });
            await first.NextFeedEventAsync();
            lastId = (await first.NextFeedEventAsync()).Id!;
        }
        Assert.Equal(Positions(rooms, 1, 1, 0), lastId);

        // While disconnected: events in every room, one room twice as busy.
        foreach (var (room, n) in new[] { (0, "a2"), (2, "c1"), (0, "a3"), (1, "b2") })
        {
            await PresenceFactory.PublishAsync(_client, rooms[room], "message", new { n });
        }

        await using var again = await SseReader.OpenAsync(_client, Url(rooms), lastEventId: lastId);
        var snapshots = await OpeningAsync(again, 3);
        Assert.All(snapshots, snapshot => Assert.Equal(lastId, snapshot.Id));
        var replayed = new List<(string Id, string N)>();
        for (var i = 0; i < 4; i++)
        {
            var frame = await again.NextFeedEventAsync();
            replayed.Add((frame.Id!, Event(frame).Data.GetProperty("n").GetString()!));
        }
        Assert.Equal(
            [(Positions(rooms, 2, 1, 0), "a2"), (Positions(rooms, 3, 1, 0), "a3"), (Positions(rooms, 3, 2, 0), "b2"), (Positions(rooms, 3, 2, 1), "c1")],
            replayed);

        await PresenceFactory.PublishAsync(_client, rooms[1], "message", new { n = "b3" });
        var live = await again.NextFeedEventAsync();
        Assert.Equal((Positions(rooms, 3, 3, 1), "b3"), (live.Id, Event(live).Data.GetProperty("n").GetString()));
    }

    [Fact]
    public async Task LastEventIdInTheQuery_RoomsLeftOutOrUnparseable_AreNotReplayed_AndTheStreamOpens()
    {
        var rooms = NewRooms(3);
        foreach (var room in rooms)
        {
            await PresenceFactory.PublishAsync(_client, room, "message", new { room });
            await PresenceFactory.PublishAsync(_client, room, "message", new { room });
        }

        // rooms[0] resumes after 1; rooms[1] has an odd position; rooms[2] is left out; an unknown room is ignored.
        var lastEventId = Uri.EscapeDataString($"{rooms[0]}=1,{rooms[1]}=x,other=1,junk");
        await using var stream = await SseReader.OpenAsync(_client, Url(rooms, $"&lastEventId={lastEventId}"));
        var snapshots = await OpeningAsync(stream, 3);
        Assert.Equal(Positions(rooms, 1, 2, 2), snapshots[0].Id);
        var replayed = await stream.NextFeedEventAsync();
        Assert.Equal((rooms[0], "2", Positions(rooms, 2, 2, 2)), (Event(replayed).Room, Event(replayed).Id, replayed.Id));

        await PresenceFactory.PublishAsync(_client, rooms[2], "live", new { n = 3 });
        var live = await stream.NextFeedEventAsync();
        Assert.Equal(("live", Positions(rooms, 2, 2, 3)), (live.Event, live.Id));

        await using var garbage = await SseReader.OpenAsync(_client, Url(rooms), lastEventId: "12");
        Assert.Equal(Positions(rooms, 2, 2, 3), (await OpeningAsync(garbage, 3))[0].Id);
    }

    public static TheoryData<string, string> BadLists() => new()
    {
        { "/events", "no rooms" },
        { "/events?rooms=", "an empty list" },
        { $"/events?rooms={string.Join(',', Enumerable.Range(0, 21).Select(i => $"r{i}"))}", "21 rooms" },
        { "/events?rooms=a,b,a", "a duplicate" },
        { "/events?rooms=a,b%20c", "an invalid name" },
        { "/events?rooms=a,,b", "an empty name" },
        { "/events?rooms=a=1,b", "a name with '='" },
        { $"/events?rooms=a,{new string('x', 129)}", "a name too long" },
        { "/events?rooms=a&viewer=", "an empty viewer" },
        { "/events?rooms=a&count=maybe", "a bad count" },
    };

    [Theory]
    [MemberData(nameof(BadLists))]
    public async Task BadRequests_Are400WithAProblem(string url, string what)
    {
        using var response = await _client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{what}: {response.StatusCode}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(400, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task OneConnection_ServesTwentyRooms_CountedInAll_EventsFromAll()
    {
        var rooms = NewRooms(20);
        await using var stream = await SseReader.OpenAsync(_client, Url(rooms));
        var snapshots = await OpeningAsync(stream, 20);
        Assert.Equal(rooms, snapshots.Select(snapshot => snapshot.Presence.Room));
        foreach (var room in rooms)
        {
            Assert.Equal(1, (await SnapshotAsync(room)).Connections);
        }

        await Task.WhenAll(rooms.Select(room => PresenceFactory.PublishAsync(_client, room, "message", new { room })));
        var received = new List<MultiplexedEvent>();
        SseMessage last = null!;
        for (var i = 0; i < rooms.Length; i++)
        {
            last = await stream.NextFeedEventAsync();
            received.Add(Event(last));
        }
        Assert.Equal(rooms.Order(), received.Select(e => e.Room).Order());
        Assert.All(received, e => Assert.Equal((e.Room, "1"), (e.Data.GetProperty("room").GetString(), e.Id)));
        Assert.Equal(Positions(rooms, [.. rooms.Select(_ => 1)]), last.Id);

        // The stream's leaves reach the rooms after the client has gone: a watcher sees each of them.
        await using var watcher = await SseReader.OpenAsync(_client, Url(rooms, "&count=false"));
        var left = new HashSet<string>();
        await stream.DisposeAsync();
        while (left.Count < rooms.Length)
        {
            left.Add((await watcher.WaitForPresenceAsync(counts => counts.Connections == 0 && !left.Contains(counts.Room))).Room);
        }
        foreach (var room in rooms)
        {
            Assert.Equal(0, (await SnapshotAsync(room)).Connections);
        }
    }

    [Fact]
    public async Task ViewerAndCountFalse_ApplyToEveryRoom()
    {
        var rooms = NewRooms(2);
        await using var single = await SseReader.OpenAsync(_client, $"/rooms/{rooms[0]}/events?viewer=alice");
        await using var multiplexed = await SseReader.OpenAsync(_client, Url(rooms, "&viewer=alice"));
        var snapshots = await OpeningAsync(multiplexed, 2);
        Assert.Equal((1, 2), (snapshots[0].Presence.Watching, snapshots[0].Presence.Connections));
        Assert.Equal((1, 1), (snapshots[1].Presence.Watching, snapshots[1].Presence.Connections));

        await using var dashboard = await SseReader.OpenAsync(_client, Url(rooms, "&count=false"));
        var uncounted = await OpeningAsync(dashboard, 2);
        Assert.Equal([2, 1], uncounted.Select(snapshot => snapshot.Presence.Connections));
        Assert.Equal(2, (await SnapshotAsync(rooms[0])).Connections);
        Assert.Equal(1, (await SnapshotAsync(rooms[1])).Connections);
    }

    [Fact]
    public async Task KeepAlive_IsWrittenOncePerInterval_NotOncePerRoom()
    {
        var rooms = NewRooms(5);
        await using var stream = await SseReader.OpenAsync(_client, Url(rooms));
        await OpeningAsync(stream, 5);

        // Counted over a window of intervals: one comment per interval (one more at the edges), not five.
        var window = TimeSpan.FromSeconds(4 * PresenceFactory.KeepAliveSeconds);
        var watch = Stopwatch.StartNew();
        var comments = 0;
        try
        {
            while (watch.Elapsed < window)
            {
                comments += (await stream.NextAsync(window - watch.Elapsed)).Comment == "keep-alive" ? 1 : 0;
            }
        }
        catch (OperationCanceledException)
        {
            // The window ended while waiting for the next frame.
        }
        Assert.InRange(comments, 2, 5);
    }

    [Fact]
    public async Task Stopping_EndsTheStreamWithOneRetry()
    {
        var rooms = NewRooms(3);
        var server = new KestrelPresenceFactory(0, new Dictionary<string, string> { ["Shutdown:DrainSeconds"] = "0" });
        try
        {
            using var client = server.CreateStreamingClient();
            await using var stream = await SseReader.OpenAsync(client, Url(rooms));
            await OpeningAsync(stream, 3);

            var stopping = server.DisposeAsync().AsTask();
            var retries = new List<int>();
            try
            {
                while (true)
                {
                    if ((await stream.NextAsync(TimeSpan.FromSeconds(15))).Retry is { } retry)
                    {
                        retries.Add(retry);
                    }
                }
            }
            catch (IOException)
            {
                // The end of the stream (or of the connection)
            }
            await stopping;
            Assert.InRange(Assert.Single(retries), 1000, 5000);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }
}
