using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Presence.WebFrontend.Tests;

/// <summary>Watching vs idle over HTTP: the stream's <c>connection</c> frame and <c>POST /connections/{id}/activity</c>.</summary>
[Collection(nameof(PresenceFactory))]
public sealed class ActivityStreamTests(PresenceFactory factory)
{
    private readonly HttpClient _client = factory.CreateStreamingClient();

    private sealed record ConnectionGrant(string Id, string Token);

    private sealed record Snapshot(string Room, int Watching, int Connections, int Idle);

    private static string NewRoom() => $"room-{Guid.NewGuid():N}";

    /// <summary>Opens a stream that reports activity and reads it up to its <c>connection</c> frame.</summary>
    private async Task<(SseReader Stream, ConnectionGrant Grant)> OpenReportingAsync(string room, string viewer)
    {
        var stream = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?viewer={viewer}&activity=true");
        await stream.NextAsync(); // retry
        Assert.Equal("presence", (await stream.NextAsync()).Event);
        var connection = await stream.NextAsync();
        Assert.Equal("connection", connection.Event);
        return (stream, JsonSerializer.Deserialize<ConnectionGrant>(connection.Data!, JsonSerializerOptions.Web)!);
    }

    private Task<HttpResponseMessage> ReportAsync(string id, string? token, string body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/connections/{id}/activity")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return _client.SendAsync(request);
    }

    private Task<HttpResponseMessage> ReportAsync(ConnectionGrant grant, bool idle) =>
        ReportAsync(grant.Id, grant.Token, idle ? """{"idle":true}""" : """{"idle":false}""");

    private static async Task AssertProblemAsync(HttpStatusCode expected, HttpResponseMessage response)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Open_WithActivity_SecondFrameIsTheConnection_BeforeTheReplay()
    {
        var room = NewRoom();
        await PresenceFactory.PublishAsync(_client, room, "goal", new { minute = 1 });

        await using var stream = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?viewer=alice&activity=true&lastEventId=0");
        var retry = await stream.NextAsync();
        var snapshot = await stream.NextAsync();
        var connection = await stream.NextAsync();
        var replayed = await stream.NextAsync();

        Assert.NotNull(retry.Retry);
        Assert.Equal(("presence", 0), (snapshot.Event, snapshot.Presence.Idle));
        Assert.Equal("connection", connection.Event);
        Assert.Null(connection.Id); // the browser's Last-Event-ID stays the last feed id
        var grant = JsonSerializer.Deserialize<ConnectionGrant>(connection.Data!, JsonSerializerOptions.Web)!;
        Assert.Matches("^[0-9a-f]{32}$", grant.Id);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", grant.Token);
        Assert.Equal(("goal", "1"), (replayed.Event, replayed.Id));
    }

    [Fact]
    public async Task Multiplexed_WithActivity_ConnectionIsTheSecondFrameToo_BeforeTheReplay()
    {
        string[] rooms = [NewRoom(), NewRoom()];
        await PresenceFactory.PublishAsync(_client, rooms[1], "goal", new { minute = 1 });

        await using var stream = await SseReader.OpenAsync(
            _client, $"/events?rooms={rooms[0]},{rooms[1]}&viewer=alice&activity=true&lastEventId={rooms[0]}=0,{rooms[1]}=0");
        Assert.NotNull((await stream.NextAsync()).Retry);
        var first = await stream.NextAsync();
        var connection = await stream.NextAsync();
        var snapshots = new[] { first, await stream.NextAsync() };
        var replayed = await stream.NextAsync();

        Assert.Equal(rooms, snapshots.Select(snapshot => snapshot.Presence.Room));
        Assert.All(snapshots, snapshot => Assert.Equal(("presence", 0), (snapshot.Event, snapshot.Presence.Idle)));
        Assert.Equal("connection", connection.Event);
        Assert.Null(connection.Id); // the stream's composite Last-Event-ID stays as it was
        var grant = JsonSerializer.Deserialize<ConnectionGrant>(connection.Data!, JsonSerializerOptions.Web)!;
        Assert.Matches("^[0-9a-f]{32}$", grant.Id);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", grant.Token);
        Assert.Equal(("goal", $"{rooms[0]}=0,{rooms[1]}=1"), (replayed.Event, replayed.Id));
    }

    [Fact]
    public async Task Multiplexed_AReportMovesIdleInEveryRoomOfTheConnection_WithTheSameFramesAsASingleRoomStream()
    {
        string[] rooms = [NewRoom(), NewRoom(), NewRoom()];
        var list = string.Join(',', rooms);
        await using var watcher = await SseReader.OpenAsync(_client, $"/events?rooms={list}&count=false");
        await using var single = await SseReader.OpenAsync(_client, $"/rooms/{rooms[2]}/events?count=false");
        await using var stream = await SseReader.OpenAsync(_client, $"/events?rooms={list}&viewer=alice&activity=true");
        await stream.NextAsync(); // retry
        await stream.NextAsync(); // the first room's opening counts
        var connection = await stream.NextAsync();
        Assert.Equal("connection", connection.Event);
        var grant = JsonSerializer.Deserialize<ConnectionGrant>(connection.Data!, JsonSerializerOptions.Web)!;
        await EveryRoomAsync(p => p.Connections == 1);

        Assert.Equal(HttpStatusCode.NoContent, (await ReportAsync(grant, idle: true)).StatusCode);
        var away = await EveryRoomAsync(p => p.Idle == 1);
        var singleAway = await single.WaitForAsync(m => m.Event == "presence" && m.Presence.Idle == 1);
        var snapshots = await Task.WhenAll(rooms.Select(room => _client.GetFromJsonAsync<Snapshot>($"/rooms/{room}")));
        Assert.Equal(HttpStatusCode.NoContent, (await ReportAsync(grant, idle: false)).StatusCode);
        await EveryRoomAsync(p => p.Idle == 0);

        Assert.All(away.Values, frame => Assert.Equal((1, 1, 1), (frame.Presence.Watching, frame.Presence.Connections, frame.Presence.Idle)));
        Assert.All(snapshots, snapshot => Assert.Equal(1, snapshot!.Idle));
        // The multiplexed stream's counts are the single-room stream's bytes (no id: line on either).
        Assert.Equal((singleAway.Data, singleAway.Id), (away[rooms[2]].Data, away[rooms[2]].Id));

        // The watcher's first frame of each room that matches, in whatever order the rooms publish them.
        async Task<Dictionary<string, SseMessage>> EveryRoomAsync(Func<PresenceCounts, bool> expected)
        {
            var frames = new Dictionary<string, SseMessage>();
            while (frames.Count < rooms.Length)
            {
                var frame = await watcher.WaitForAsync(m => m.Event == "presence" && !frames.ContainsKey(m.Presence.Room) && expected(m.Presence));
                frames[frame.Presence.Room] = frame;
            }
            return frames;
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("&activity=false")]
    public async Task Open_WithoutActivity_HasNoConnectionFrame(string query)
    {
        var room = NewRoom();
        await PresenceFactory.PublishAsync(_client, room, "goal", new { minute = 1 });

        await using var stream = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?viewer=alice&lastEventId=0{query}");
        await stream.NextAsync(); // retry
        var snapshot = await stream.NextAsync();
        var next = await stream.NextAsync();

        Assert.Equal("presence", snapshot.Event);
        Assert.Equal(("goal", "1"), (next.Event, next.Id));
    }

    [Fact]
    public async Task Reports_ChangeIdle_InTheStreamAndTheSnapshot_AViewerWithOneActiveTabIsNotIdle()
    {
        var room = NewRoom();
        await using var watcher = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?count=false");
        var (tab1, grant1) = await OpenReportingAsync(room, "alice");
        var (tab2, grant2) = await OpenReportingAsync(room, "alice");
        await using var _ = tab1;
        await using var __ = tab2;
        await watcher.WaitForPresenceAsync(p => p.Connections == 2);

        Assert.Equal(HttpStatusCode.NoContent, (await ReportAsync(grant1, idle: true)).StatusCode);
        var oneTabHidden = await _client.GetFromJsonAsync<Snapshot>($"/rooms/{room}");
        Assert.Equal(HttpStatusCode.NoContent, (await ReportAsync(grant2, idle: true)).StatusCode);
        var away = await watcher.WaitForPresenceAsync(p => p.Idle == 1);
        var awaySnapshot = await _client.GetFromJsonAsync<Snapshot>($"/rooms/{room}");
        Assert.Equal(HttpStatusCode.NoContent, (await ReportAsync(grant1, idle: false)).StatusCode);
        var back = await watcher.WaitForPresenceAsync(p => p.Idle == 0);

        Assert.Equal(0, oneTabHidden!.Idle);
        Assert.Equal((1, 2, 1), (away.Watching, away.Connections, away.Idle));
        Assert.Equal(new Snapshot(room, 1, 2, 1), awaySnapshot);
        Assert.True(back.Version > away.Version);
        // Each reporting tab gets the counts too.
        await tab1.WaitForPresenceAsync(p => p.Version == back.Version);
    }

    [Fact]
    public async Task Report_WithAnotherConnectionsToken_Is403_WithoutAToken_401()
    {
        var room = NewRoom();
        var (alice, aliceGrant) = await OpenReportingAsync(room, "alice");
        var (bob, bobGrant) = await OpenReportingAsync(room, "bob");
        await using var _ = alice;
        await using var __ = bob;

        await AssertProblemAsync(HttpStatusCode.Forbidden, await ReportAsync(aliceGrant.Id, bobGrant.Token, """{"idle":true}"""));
        await AssertProblemAsync(HttpStatusCode.Forbidden, await ReportAsync(aliceGrant.Id, aliceGrant.Token[..^1], """{"idle":true}"""));
        var missing = await ReportAsync(aliceGrant.Id, token: null, """{"idle":true}""");
        await AssertProblemAsync(HttpStatusCode.Unauthorized, missing);
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);

        var counts = await _client.GetFromJsonAsync<Snapshot>($"/rooms/{room}");
        Assert.Equal((2, 0), (counts!.Watching, counts.Idle));
    }

    [Fact]
    public async Task Report_ForAConnectionThatNeverExisted_OrHasClosed_Is404()
    {
        var room = NewRoom();
        var (stream, grant) = await OpenReportingAsync(room, "alice");
        await using var watcher = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?count=false");

        await AssertProblemAsync(HttpStatusCode.NotFound, await ReportAsync(Guid.NewGuid().ToString("N"), grant.Token, """{"idle":true}"""));
        await stream.DisposeAsync();
        await watcher.WaitForPresenceAsync(p => p.Connections == 0);

        // The record is forgotten right after the leave: wait for it, within a bound.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        HttpResponseMessage answer;
        while ((answer = await ReportAsync(grant, idle: true)).StatusCode != HttpStatusCode.NotFound && DateTime.UtcNow < deadline)
        {
            Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        }
        await AssertProblemAsync(HttpStatusCode.NotFound, answer);
    }

    [Theory]
    [InlineData("not-a-guid", """{"idle":true}""", HttpStatusCode.BadRequest)]
    [InlineData("{00000000-0000-0000-0000-000000000000}", """{"idle":true}""", HttpStatusCode.BadRequest)]
    [InlineData(null, "{\"idle\":", HttpStatusCode.BadRequest)]
    [InlineData(null, "", HttpStatusCode.BadRequest)]
    [InlineData(null, "{}", HttpStatusCode.BadRequest)]
    [InlineData(null, "[true]", HttpStatusCode.BadRequest)]
    [InlineData(null, """{"idle":"true"}""", HttpStatusCode.BadRequest)]
    [InlineData(null, """{"idle":1}""", HttpStatusCode.BadRequest)]
    [InlineData(null, """{"idle":null}""", HttpStatusCode.BadRequest)]
    [InlineData(null, "OVERSIZED", HttpStatusCode.RequestEntityTooLarge)]
    public async Task Report_BadIdOrBody_IsAProblem_AndChangesNothing(string? id, string body, HttpStatusCode expected)
    {
        var room = NewRoom();
        var (stream, grant) = await OpenReportingAsync(room, "alice");
        await using var _ = stream;
        body = body == "OVERSIZED" ? $$"""{"idle":true,"pad":"{{new string('x', 2000)}}"}""" : body;

        await AssertProblemAsync(expected, await ReportAsync(id ?? grant.Id, grant.Token, body));

        Assert.Equal(0, (await _client.GetFromJsonAsync<Snapshot>($"/rooms/{room}"))!.Idle);
    }

    [Theory]
    [InlineData("activity=maybe")]
    [InlineData("activity=")]
    [InlineData("activity=true&count=false")]
    public async Task Open_WithABadActivity_Is400(string query)
    {
        using var response = await _client.GetAsync($"/rooms/{NewRoom()}/events?{query}", HttpCompletionOption.ResponseHeadersRead);

        await AssertProblemAsync(HttpStatusCode.BadRequest, response);
    }
}
