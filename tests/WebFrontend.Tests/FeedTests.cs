using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Presence.WebFrontend.Tests;

[Collection(nameof(PresenceFactory))]
public sealed class FeedTests(PresenceFactory factory)
{
    private readonly HttpClient _client = factory.CreateStreamingClient();

    private static string NewRoom() => $"room-{Guid.NewGuid():N}";

    private Task<HttpResponseMessage> PostAsync(string room, string body, string? key = PresenceFactory.PublishKey) =>
        PostAsync(room, new StringContent(body, Encoding.UTF8, "application/json"), key);

    private async Task<HttpResponseMessage> PostAsync(string room, HttpContent body, string? key = PresenceFactory.PublishKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/rooms/{room}/events") { Content = body };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return await _client.SendAsync(request);
    }

    private async Task<string> PublishAsync(string room, object body)
    {
        using var response = await PostAsync(room, JsonSerializer.Serialize(body));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Publish_WithoutKey_Is401_WithWrongKey_Is403()
    {
        var room = NewRoom();
        using var missing = await PostAsync(room, """{"data":1}""", key: null);
        using var wrong = await PostAsync(room, """{"data":1}""", key: "not-the-key");

        await AssertProblemAsync(missing, HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);
        await AssertProblemAsync(wrong, HttpStatusCode.Forbidden);
        Assert.Equal("0", (await _client.GetFromJsonAsync<JsonElement>($"/rooms/{room}")).GetProperty("lastEventId").GetString());
    }

    [Theory]
    [InlineData("""{"type":"goal","data":""")]
    [InlineData("not json")]
    [InlineData("""[1,2]""")]
    [InlineData("""{"type":"goal"}""")]
    [InlineData("""{"type":"presence","data":1}""")]
    [InlineData("""{"type":"gap","data":1}""")]
    [InlineData("""{"type":"has space","data":1}""")]
    [InlineData("""{"type":"","data":1}""")]
    [InlineData("""{"type":42,"data":1}""")]
    [InlineData("""{"type":"\ud800","data":1}""")]
    [InlineData("""{"data":"\udfff"}""")]
    [InlineData("""{"data":{"\ud800":1}}""")]
    public async Task Publish_BadBody_Is400(string body)
    {
        using var response = await PostAsync(NewRoom(), body);

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("{\"type\":\"\u00FF\",\"data\":1}")]
    [InlineData("{\"data\":\"\u00C3\"}")]
    [InlineData("{\"data\":{\"\u00ED\u00A0\u0080\":1}}")]
    public async Task Publish_BodyNotUtf8_Is400_NotStoredWithReplacementCharacters(string latin1Body)
    {
        var room = NewRoom();
        using var response = await PostAsync(room, new ByteArrayContent(Encoding.Latin1.GetBytes(latin1Body)));

        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("0", (await _client.GetFromJsonAsync<JsonElement>($"/rooms/{room}")).GetProperty("lastEventId").GetString());
    }

    [Fact]
    public async Task Publish_DataOver64KiB_Is413_AtTheLimitIs201()
    {
        var room = NewRoom();
        // A JSON string of n characters is n + 2 bytes with its quotes.
        using var atLimit = await PostAsync(room, JsonSerializer.Serialize(new { data = new string('x', 64 * 1024 - 2) }));
        using var over = await PostAsync(room, JsonSerializer.Serialize(new { data = new string('x', 64 * 1024 - 1) }));
        using var huge = await PostAsync(room, JsonSerializer.Serialize(new { data = new string('x', 1024 * 1024) }));

        Assert.Equal(HttpStatusCode.Created, atLimit.StatusCode);
        await AssertProblemAsync(over, HttpStatusCode.RequestEntityTooLarge);
        await AssertProblemAsync(huge, HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Publish_ReachesTwoWatchers_WithTheSameId_TypeDefaultsToMessage()
    {
        var room = NewRoom();
        await using var first = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");
        await using var second = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?count=false");
        await first.WaitForPresenceAsync(_ => true);
        await second.WaitForPresenceAsync(_ => true);

        var id = await PublishAsync(room, new { data = new { text = "hello" } });

        var a = await first.NextFeedEventAsync();
        var b = await second.NextFeedEventAsync();
        Assert.Equal(a, b);
        Assert.Equal(("1", id, "message", """{"text":"hello"}"""), (a.Id, a.Id, a.Event, a.Data));
        Assert.Equal("1", (await _client.GetFromJsonAsync<JsonElement>($"/rooms/{room}")).GetProperty("lastEventId").GetString());
    }

    [Fact]
    public async Task Publish_PayloadWithNewlinesAndUnicode_ArrivesIntact()
    {
        var room = NewRoom();
        await using var watcher = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");
        await watcher.WaitForPresenceAsync(_ => true);
        const string text = "line one\nline two\r\n\"quoted\" ⚽ Größe 日本 \u2028 end";

        // Pretty-printed on purpose: raw newlines between tokens must not break the SSE framing.
        var body = "{\n  \"type\": \"chat.line\",\n  \"data\": {\n    \"text\": " + JsonSerializer.Serialize(text)
            + ",\n    \"n\": [1, 2]\n  }\n}";
        using var response = await PostAsync(room, body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);

        var received = await watcher.NextFeedEventAsync();
        Assert.Equal("chat.line", received.Event);
        var data = JsonSerializer.Deserialize<JsonElement>(received.Data!);
        Assert.Equal(text, data.GetProperty("text").GetString());
        Assert.Contains("⚽ Größe 日本", received.Data);
    }

    [Fact]
    public async Task Reconnect_WithLastEventId_ReplaysExactlyTheMissedEvents_ThenLive()
    {
        var room = NewRoom();
        var watcher = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");
        await watcher.WaitForPresenceAsync(_ => true);
        for (var i = 1; i <= 3; i++)
        {
            await PublishAsync(room, new { data = i });
        }
        for (var i = 1; i <= 3; i++)
        {
            Assert.Equal(i.ToString(), (await watcher.NextFeedEventAsync()).Id);
        }
        await watcher.DisposeAsync();

        for (var i = 4; i <= 6; i++)
        {
            await PublishAsync(room, new { data = i });
        }
        await using var reconnected = await SseReader.OpenAsync(_client, $"/rooms/{room}/events", lastEventId: "3");
        var replayed = new List<string?>();
        for (var i = 0; i < 3; i++)
        {
            replayed.Add((await reconnected.NextFeedEventAsync()).Id);
        }
        await PublishAsync(room, new { data = 7 });
        var live = await reconnected.NextFeedEventAsync();

        Assert.Equal(["4", "5", "6"], replayed);
        Assert.Equal(("7", "7"), (live.Id, live.Data));
    }

    [Fact]
    public async Task Reconnect_QueryLastEventId_WorksForClientsThatCannotSetHeaders()
    {
        var room = NewRoom();
        await PublishAsync(room, new { data = 1 });
        await PublishAsync(room, new { data = 2 });

        await using var reconnected = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?lastEventId=1");

        Assert.Equal("2", (await reconnected.NextFeedEventAsync()).Id);
    }

    [Fact]
    public async Task Reconnect_OlderThanHistory_SendsGapBeforeTheReplay()
    {
        var room = NewRoom();
        const int history = 500, published = history + 7;
        for (var i = 1; i <= published; i++)
        {
            await PublishAsync(room, new { data = i });
        }

        await using var reconnected = await SseReader.OpenAsync(_client, $"/rooms/{room}/events", lastEventId: "2");

        var gap = await reconnected.NextFeedEventAsync();
        Assert.Equal("gap", gap.Event);
        Assert.Null(gap.Id);
        var range = JsonSerializer.Deserialize<JsonElement>(gap.Data!);
        Assert.Equal((3, 7), (range.GetProperty("from").GetInt64(), range.GetProperty("to").GetInt64()));
        Assert.Equal("8", (await reconnected.NextFeedEventAsync()).Id);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("99999999999999999999999")]
    [InlineData("999")]
    public async Task Reconnect_WithUnusableLastEventId_StreamsWithoutReplay(string lastEventId)
    {
        var room = NewRoom();
        await using var earlier = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?count=false");
        await earlier.WaitForPresenceAsync(_ => true);
        await PublishAsync(room, new { data = 1 });
        // Delivered live already, so it cannot reach the next connection except by a replay.
        await earlier.NextFeedEventAsync();

        await using var stream = await SseReader.OpenAsync(_client, $"/rooms/{room}/events", lastEventId);
        await stream.WaitForPresenceAsync(_ => true);
        await PublishAsync(room, new { data = 2 });

        Assert.Equal("2", (await stream.NextFeedEventAsync()).Id);
    }

    [Fact]
    public async Task Race_PublishingWhileClientKeepsReconnecting_ClientSeesEveryEventOnceInOrder()
    {
        const int total = 2000;
        var room = NewRoom();
        // A first connection without Last-Event-ID only sees live events: it must be attached
        // before the first publish, or the opening events would rightly never reach it.
        var first = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");
        await first.WaitForPresenceAsync(_ => true);
        var publisher = Task.Run(async () =>
        {
            for (var i = 1; i <= total; i++)
            {
                await PublishAsync(room, new { data = i });
            }
        });

        var seen = new List<long>();
        var reconnects = 0;
        string? lastEventId = null;
        var random = new Random(7);
        for (var stream = first; seen.Count == 0 || seen[^1] < total; stream = await SseReader.OpenAsync(_client, $"/rooms/{room}/events", lastEventId))
        {
            await using var _ = stream;
            reconnects++;
            var batch = random.Next(1, 60);
            for (var i = 0; i < batch && (seen.Count == 0 || seen[^1] < total); i++)
            {
                var message = await stream.NextFeedEventAsync();
                Assert.NotEqual("gap", message.Event);
                seen.Add(long.Parse(message.Id!));
                lastEventId = message.Id;
            }
        }
        await publisher;

        Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), seen);
        Assert.True(reconnects >= 20, $"only {reconnects} reconnects");
    }
}
