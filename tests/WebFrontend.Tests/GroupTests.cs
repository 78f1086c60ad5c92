using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Presence.WebFrontend.Tests;

[Collection(nameof(PresenceFactory))]
public sealed class GroupTests(PresenceFactory factory)
{
    private const int PublishIntervalMilliseconds = 50; // PresenceFactory's

    private readonly HttpClient _client = factory.CreateStreamingClient();

    private static string NewGroup() => $"group-{Guid.NewGuid():N}";

    private static async Task<GroupCounts> NextGroupAsync(SseReader stream, Func<GroupCounts, bool> expected, List<GroupCounts>? seen = null)
    {
        var message = await stream.WaitForAsync(message =>
        {
            if (message.Event != "group")
            {
                return false;
            }
            seen?.Add(message.Group);
            return expected(message.Group);
        }, TimeSpan.FromSeconds(20));
        return message.Group;
    }

    [Fact]
    public async Task GetGroup_SumsTheOccupiedRoomsBelowIt_AViewerInTwoRoomsCountsTwice()
    {
        var group = NewGroup();
        await using var watcher = await SseReader.OpenAsync(_client, $"/groups/{group}/events");
        await using var aliceTab1 = await SseReader.OpenAsync(_client, $"/rooms/{group}:a:r1/events?viewer=alice");
        await using var aliceTab2 = await SseReader.OpenAsync(_client, $"/rooms/{group}:a:r1/events?viewer=alice");
        await using var aliceElsewhere = await SseReader.OpenAsync(_client, $"/rooms/{group}:r2/events?viewer=alice");
        await using var bob = await SseReader.OpenAsync(_client, $"/rooms/{group}:a:r3/events");
        await using var dashboard = await SseReader.OpenAsync(_client, $"/rooms/{group}:r4/events?count=false");
        // The sums of the inner group come in its reports: once the outer one has them all, both are final.
        await NextGroupAsync(watcher, counts => (counts.Watching, counts.Connections, counts.Rooms) == (3, 4, 3));

        using var response = await _client.GetAsync($"/groups/{group}");
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        using var inner = await _client.GetAsync($"/groups/{group}:a");
        var innerBody = JsonDocument.Parse(await inner.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["group", "watching", "connections", "rooms"], body.EnumerateObject().Select(property => property.Name));
        Assert.Equal((group, 3, 4, 3), (body.GetProperty("group").GetString(), body.GetProperty("watching").GetInt32(),
            body.GetProperty("connections").GetInt32(), body.GetProperty("rooms").GetInt32()));
        Assert.Equal(($"{group}:a", 2, 3, 2), (innerBody.GetProperty("group").GetString(), innerBody.GetProperty("watching").GetInt32(),
            innerBody.GetProperty("connections").GetInt32(), innerBody.GetProperty("rooms").GetInt32()));
    }

    [Fact]
    public async Task GetGroup_NoOccupiedRoom_Is200WithZeros()
    {
        var group = NewGroup();

        using var response = await _client.GetAsync($"/groups/{group}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($$"""{"group":"{{group}}","watching":0,"connections":0,"rooms":0}""", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("a%20b")]
    [InlineData("a%2Fb")]
    [InlineData("%C3%A9")]
    public async Task BadGroupName_Is400WithProblem_SnapshotAndStream(string group)
    {
        var tooLong = new string('g', 129);
        foreach (var path in new[] { $"/groups/{group}", $"/groups/{group}/events", $"/groups/{tooLong}", $"/groups/{tooLong}/events" })
        {
            using var response = await _client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("Invalid group name", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("title").GetString());
        }
    }

    [Fact]
    public async Task GroupStream_RetryThenSumsAtOnce_ThenEachChangeOfItsRooms_VersionsIncrease()
    {
        var group = NewGroup();
        await using var watcher = await SseReader.OpenAsync(_client, $"/groups/{group}/events");

        Assert.Equal("text/event-stream", watcher.ContentHeaders.ContentType?.MediaType);
        Assert.Equal("no-cache", watcher.Headers.CacheControl?.ToString());
        Assert.Equal("no", watcher.Headers.GetValues("X-Accel-Buffering").Single());
        Assert.Equal(1500, (await watcher.NextAsync()).Retry);
        var first = await watcher.NextAsync();
        Assert.Equal(("group", null), (first.Event, first.Id));
        var empty = first.Group;
        Assert.Equal((group, 0, 0, 0), (empty.Group, empty.Watching, empty.Connections, empty.Rooms));
        Assert.Equal(["group", "watching", "connections", "rooms", "version"],
            JsonDocument.Parse(first.Data!).RootElement.EnumerateObject().Select(property => property.Name));

        var joined = await SseReader.OpenAsync(_client, $"/rooms/{group}:sub:room/events");
        var one = await NextGroupAsync(watcher, counts => counts.Watching == 1);
        await joined.DisposeAsync();
        var none = await NextGroupAsync(watcher, counts => counts.Watching == 0);

        Assert.Equal((1, 1, 1), (one.Watching, one.Connections, one.Rooms));
        Assert.Equal((0, 0, 0), (none.Watching, none.Connections, none.Rooms));
        Assert.True(empty.Version < one.Version && one.Version < none.Version);
        Assert.Equal("keep-alive", (await watcher.WaitForAsync(message => message.Comment is not null, TimeSpan.FromSeconds(5))).Comment);
    }

    [Fact]
    public async Task GroupStream_JoinStorm_FarFewerEventsThanJoins_TheLastExact()
    {
        const int Connections = 200;
        const int Rooms = 10;
        var group = NewGroup();
        await using var watcher = await SseReader.OpenAsync(_client, $"/groups/{group}/events");
        await NextGroupAsync(watcher, _ => true);
        var seen = new List<GroupCounts>();
        var clock = Stopwatch.StartNew();

        var joining = Enumerable.Range(0, Connections)
            .Select(n => SseReader.OpenAsync(_client, $"/rooms/{group}:storm:r{n % Rooms}/events"))
            .ToList();
        var last = await NextGroupAsync(watcher, counts => counts.Connections == Connections, seen);
        var elapsed = clock.Elapsed;
        var viewers = await Task.WhenAll(joining);

        Assert.Equal((Connections, Connections, Rooms), (last.Watching, last.Connections, last.Rooms));
        Assert.True(seen.Count < Connections / 4, $"{seen.Count} group events for {Connections} joins");
        // Coalesced: at most one event per publish interval (and the leading one).
        Assert.True(seen.Count <= elapsed.TotalMilliseconds / PublishIntervalMilliseconds + 2,
            $"{seen.Count} group events in {elapsed.TotalMilliseconds:F0} ms");
        Assert.Equal(seen.Select(counts => counts.Version).Order(), seen.Select(counts => counts.Version));
        foreach (var viewer in viewers)
        {
            await viewer.DisposeAsync();
        }
    }

    [Fact]
    public async Task GroupStream_OnShutdown_GetsALastRetryAndEnds()
    {
        var service = new KestrelPresenceFactory(); // TestServer would abort the stream, not end it
        using var client = new HttpClient { BaseAddress = service.Address, Timeout = Timeout.InfiniteTimeSpan };
        await using var watcher = await SseReader.OpenAsync(client, $"/groups/{NewGroup()}/events");
        await NextGroupAsync(watcher, _ => true);

        var stopping = service.DisposeAsync().AsTask();
        var farewell = await watcher.WaitForAsync(message => message.Retry is not null);

        Assert.InRange(farewell.Retry!.Value, 1000, 5000); // Shutdown:ReconnectSpreadSeconds' default
        await Assert.ThrowsAsync<EndOfStreamException>(() => watcher.NextAsync());
        await stopping;
    }
}
