using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Presence.WebFrontend.Tests;

[Collection(nameof(PresenceFactory))]
public sealed class PresenceStreamTests(PresenceFactory factory)
{
    private readonly HttpClient _client = factory.CreateStreamingClient();

    private static string NewRoom() => $"room-{Guid.NewGuid():N}";

    [Fact]
    public async Task Open_SendsStreamingHeaders_RetryAndSnapshotFirst_WithoutAnyChange()
    {
        var room = NewRoom();
        await using var stream = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");

        Assert.Equal("text/event-stream", stream.ContentHeaders.ContentType?.MediaType);
        Assert.True(stream.Headers.CacheControl?.NoCache);
        Assert.Equal("no", stream.Headers.GetValues("X-Accel-Buffering").Single());
        Assert.Null(stream.ContentHeaders.ContentEncoding.FirstOrDefault());

        var retry = await stream.NextAsync();
        Assert.Equal(1500, retry.Retry);
        var snapshot = await stream.NextAsync();
        Assert.Equal("presence", snapshot.Event);
        Assert.Null(snapshot.Id);
        Assert.Equal((room, 1, 1), (snapshot.Presence.Room, snapshot.Presence.Watching, snapshot.Presence.Connections));
    }

    [Fact]
    public async Task TwoConnections_SeeOneThenTwoThenOne_ClosingDecrementsAtOnce()
    {
        var room = NewRoom();
        await using var first = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");
        await first.WaitForPresenceAsync(p => p.Connections == 1);

        var second = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");
        Assert.Equal(2, (await second.WaitForPresenceAsync(_ => true)).Connections);
        Assert.Equal(2, (await first.WaitForPresenceAsync(p => p.Connections != 1)).Connections);

        await second.DisposeAsync();

        // Far sooner than the 30 s lease: the close itself leaves the room.
        var after = await first.WaitForPresenceAsync(p => p.Connections != 2, TimeSpan.FromSeconds(5));
        Assert.Equal((1, 1), (after.Watching, after.Connections));
    }

    [Fact]
    public async Task SameViewer_TwoTabs_CountOnceAsWatching()
    {
        var room = NewRoom();
        await using var tab1 = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?viewer=alice");
        await using var tab2 = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?viewer=alice");
        await using var bob = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?viewer=bob");

        var counts = await tab1.WaitForPresenceAsync(p => p.Connections == 3);

        Assert.Equal(2, counts.Watching);
    }

    [Fact]
    public async Task CountFalse_Subscriber_IsNotCounted_ButSeesCounts()
    {
        var room = NewRoom();
        await using var dashboard = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?count=false");
        Assert.Equal((0, 0), await ((Func<Task<(int, int)>>)(async () =>
        {
            var p = await dashboard.WaitForPresenceAsync(_ => true);
            return (p.Watching, p.Connections);
        }))());

        await using var viewer = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");

        var seen = await dashboard.WaitForPresenceAsync(p => p.Connections > 0);
        Assert.Equal((1, 1), (seen.Watching, seen.Connections));
    }

    [Fact]
    public async Task KeepAliveComment_ArrivesWithinTheConfiguredInterval()
    {
        await using var stream = await SseReader.OpenAsync(_client, $"/rooms/{NewRoom()}/events");

        var comment = await stream.WaitForAsync(
            m => m.Comment is not null, TimeSpan.FromSeconds(PresenceFactory.KeepAliveSeconds * 3));

        Assert.Equal("keep-alive", comment.Comment);
    }

    [Theory]
    [InlineData("has%20space")]
    [InlineData("slash%2Finside")]
    [InlineData("%C3%A9t%C3%A9")]
    [InlineData("quote%22")]
    [InlineData("new%0Aline")]
    public async Task InvalidRoomName_Is400WithProblemJson_OnEveryRoute(string room)
    {
        foreach (var request in new[]
        {
            new HttpRequestMessage(HttpMethod.Get, $"/rooms/{room}/events"),
            new HttpRequestMessage(HttpMethod.Get, $"/rooms/{room}"),
            new HttpRequestMessage(HttpMethod.Post, $"/rooms/{room}/events") { Content = JsonContent.Create(new { data = 1 }) },
        })
        {
            using var response = await _client.SendAsync(request);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(400, problem.GetProperty("status").GetInt32());
        }
    }

    [Fact]
    public async Task RoomName_Of128AllowedCharacters_IsAccepted_129IsNot()
    {
        var longest = ("a-_.~:" + new string('z', 122));
        using var ok = await _client.GetAsync($"/rooms/{longest}");
        using var tooLong = await _client.GetAsync($"/rooms/{longest}z");

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, tooLong.StatusCode);
    }

    [Theory]
    [InlineData("?count=maybe")]
    [InlineData("?viewer=")]
    public async Task InvalidQuery_Is400WithProblemJson(string query)
    {
        using var response = await _client.GetAsync($"/rooms/{NewRoom()}/events{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("GET", "/nowhere", "text/html", HttpStatusCode.NotFound)]
    [InlineData("DELETE", "/rooms/lobby", "text/event-stream", HttpStatusCode.MethodNotAllowed)]
    public async Task UnknownRouteOrMethod_IsProblemJson_WhateverTheClientAccepts(string method, string path, string accept, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Accept.ParseAdd(accept);
        using var response = await _client.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal((int)expected, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task RoomSnapshot_ReportsCountsVersionAndLastEventId()
    {
        var room = NewRoom();
        await using var stream = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?viewer=v1");
        var seen = await stream.WaitForPresenceAsync(_ => true);

        var snapshot = await _client.GetFromJsonAsync<JsonElement>($"/rooms/{room}");

        Assert.Equal(room, snapshot.GetProperty("room").GetString());
        Assert.Equal(1, snapshot.GetProperty("watching").GetInt32());
        Assert.Equal(1, snapshot.GetProperty("connections").GetInt32());
        Assert.True(snapshot.GetProperty("version").GetInt64() >= seen.Version);
        Assert.Equal("0", snapshot.GetProperty("lastEventId").GetString());
    }

    [Fact]
    public async Task TopRooms_MostWatchedFirst_AndTopIsValidated()
    {
        var (busy, quiet) = (NewRoom(), NewRoom());
        await using var a = await SseReader.OpenAsync(_client, $"/rooms/{busy}/events");
        await using var b = await SseReader.OpenAsync(_client, $"/rooms/{busy}/events");
        await using var c = await SseReader.OpenAsync(_client, $"/rooms/{quiet}/events");
        await a.WaitForPresenceAsync(p => p.Watching == 2);
        await c.WaitForPresenceAsync(p => p.Watching == 1);

        var top = await _client.GetFromJsonAsync<JsonElement[]>("/rooms?top=1000");
        var ours = top!.Where(r => r.GetProperty("room").GetString() is var name && (name == busy || name == quiet))
            .Select(r => (r.GetProperty("room").GetString(), r.GetProperty("watching").GetInt32()));
        Assert.Equal([(busy, 2), (quiet, 1)], ours);

        using var bad = await _client.GetAsync("/rooms?top=zero");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Health_IsHealthy()
    {
        using var response = await _client.GetAsync("/health");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }
}
