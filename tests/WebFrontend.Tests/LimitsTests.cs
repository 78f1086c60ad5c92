using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;
using Presence.Client;

namespace Presence.WebFrontend.Tests;

/// <summary>The service allowed three open event streams.</summary>
public sealed class LimitedFactory : PresenceFactory
{
    public const int MaxStreams = 3;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Limits:MaxStreams", MaxStreams.ToString());
    }
}

public sealed class LimitsTests(LimitedFactory factory) : IClassFixture<LimitedFactory>
{
    [Fact]
    public async Task StreamsPastMaxStreams_Get503WithRetryAfter_WhileTheOpenOnesKeepReceiving()
    {
        var (room, other) = ($"room-{Guid.NewGuid():N}", $"room-{Guid.NewGuid():N}");
        var client = factory.CreateStreamingClient();
        await using var first = await SseReader.OpenAsync(client, $"/rooms/{room}/events");
        await using var second = await SseReader.OpenAsync(client, $"/rooms/{room}/events");
        var third = await SseReader.OpenAsync(client, $"/rooms/{other}/events");

        using var refused = await client.GetAsync($"/rooms/{room}/events", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(503, (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetInt32());
        using var publish = new HttpRequestMessage(HttpMethod.Post, $"/rooms/{room}/events")
        {
            Content = JsonContent.Create(new { type = "after-refusal", data = 1 }),
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", PresenceFactory.PublishKey) },
        };
        Assert.Equal(HttpStatusCode.Created, (await client.SendAsync(publish)).StatusCode);
        Assert.Equal("after-refusal", (await first.NextFeedEventAsync()).Event);
        Assert.Equal("after-refusal", (await second.NextFeedEventAsync()).Event);
        Assert.Equal(2, (await client.GetFromJsonAsync<JsonElement>($"/rooms/{room}")).GetProperty("connections").GetInt32());

        // A stream that ends makes room for the next one.
        await third.DisposeAsync();
        await using var admitted = await OpenOnceRoomAsync(client, other, TimeSpan.FromSeconds(10));
        Assert.Equal(1, (await admitted.WaitForPresenceAsync(_ => true)).Connections);
    }

    [Fact]
    public async Task GroupStreams_CountAgainstMaxStreams()
    {
        var group = $"group-{Guid.NewGuid():N}";
        var client = factory.CreateStreamingClient();
        var held = new List<SseReader>();
        for (var i = 0; i < LimitedFactory.MaxStreams; i++)
        {
            held.Add(await SseReader.OpenAsync(client, $"/groups/{group}/events"));
        }

        using var refused = await client.GetAsync($"/groups/{group}/events", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        foreach (var stream in held)
        {
            await stream.DisposeAsync();
        }
    }

    [Fact]
    public async Task Client_PastMaxStreams_WaitsTheRetryAfter_ThenOpensOnceThereIsRoom()
    {
        var room = $"room-{Guid.NewGuid():N}";
        var presence = new PresenceClient(factory.CreateStreamingClient());
        using var timeout = new CancellationTokenSource(ClientEvents.Timeout);
        var held = Enumerable.Range(0, LimitedFactory.MaxStreams).Select(_ => presence.WatchAsync(room, cancellationToken: timeout.Token).GetAsyncEnumerator()).ToList();
        foreach (var stream in held)
        {
            await stream.NextAsync<PresenceEvent>();
        }
        await using var late = presence.WatchAsync(room, cancellationToken: timeout.Token).GetAsyncEnumerator();

        var refused = await late.NextAsync<ReconnectingEvent>();
        await held[0].DisposeAsync(); // before the late one asks again: it opens once the server has let this one go
        var admitted = await late.NextAsync<PresenceEvent>();

        var error = Assert.IsType<PresenceException>(refused.Error);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, error.StatusCode);
        Assert.NotNull(error.RetryAfter);
        Assert.True(refused.Delay >= error.RetryAfter, $"waits {refused.Delay}, asked to wait {error.RetryAfter}");
        Assert.Equal(LimitedFactory.MaxStreams, admitted.Connections);
        foreach (var stream in held.Skip(1))
        {
            await stream.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("/health")]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task HealthEndpoints_AreHealthy(string path)
    {
        using var response = await factory.CreateClient().GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    /// <summary>Opens the stream once the server has taken the previous one's end into account.</summary>
    private static async Task<SseReader> OpenOnceRoomAsync(HttpClient client, string room, TimeSpan timeout)
    {
        using var expiry = new CancellationTokenSource(timeout);
        while (true)
        {
            try
            {
                return await SseReader.OpenAsync(client, $"/rooms/{room}/events", cancellationToken: expiry.Token);
            }
            catch (HttpRequestException exception) when (exception.StatusCode == HttpStatusCode.ServiceUnavailable && !expiry.IsCancellationRequested)
            {
                // the ended stream is still being closed on the server: try again
            }
        }
    }
}

/// <summary>A multiplexed stream against <c>Limits:MaxStreams</c>, on a service of its own (its streams do not crowd the other limits tests).</summary>
public sealed class MultiRoomLimitsTests(LimitedFactory factory) : IClassFixture<LimitedFactory>
{
    [Fact]
    public async Task SeveralRoomsOnOneStream_CountOnceAgainstMaxStreams()
    {
        var rooms = Enumerable.Range(0, 5).Select(_ => $"room-{Guid.NewGuid():N}").ToArray();
        var client = factory.CreateStreamingClient();
        await using var multiplexed = await SseReader.OpenAsync(client, $"/events?rooms={string.Join(',', rooms)}");
        await using var second = await SseReader.OpenAsync(client, $"/rooms/{rooms[0]}/events");
        await using var third = await SseReader.OpenAsync(client, $"/events?rooms={rooms[1]},{rooms[2]}");

        using var refused = await client.GetAsync($"/events?rooms={rooms[3]}", HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.NotNull(refused.Headers.RetryAfter?.Delta);
        Assert.Equal(2, (await multiplexed.WaitForPresenceAsync(counts => counts.Room == rooms[0] && counts.Connections == 2)).Connections);
    }
}

/// <summary>The service allowing bursts of two publishes per key and two stream opens per address, then one a second.</summary>
public sealed class RateLimitedFactory : PresenceFactory
{
    public const string OtherPublishKey = "another-test-publish-key";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Feed:PublishKeys:1", OtherPublishKey);
        builder.UseSetting("RateLimits:PublishPerSecond", "1");
        builder.UseSetting("RateLimits:PublishBurst", "2");
        builder.UseSetting("RateLimits:StreamOpensPerSecond", "1");
        builder.UseSetting("RateLimits:StreamOpensBurst", "2");
    }
}

public sealed class RateLimitTests(RateLimitedFactory factory) : IClassFixture<RateLimitedFactory>
{
    private readonly HttpClient _client = factory.CreateStreamingClient();

    private async Task<HttpResponseMessage> PublishAsync(string room, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/rooms/{room}/events")
        {
            Content = JsonContent.Create(new { type = "flood", data = 1 }),
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", key) },
        };
        return await _client.SendAsync(request);
    }

    private static async Task Assert429Async(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(429, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task PublishFlood_Is429WithRetryAfter_PerKey()
    {
        var room = $"room-{Guid.NewGuid():N}";
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        while (refused is null && statuses.Count < 10)
        {
            var response = await PublishAsync(room, PresenceFactory.PublishKey);
            statuses.Add(response.StatusCode);
            refused = response.StatusCode == HttpStatusCode.TooManyRequests ? response : null;
        }

        Assert.NotNull(refused);
        await Assert429Async(refused);
        Assert.True(statuses.Count(status => status == HttpStatusCode.Created) >= 2, string.Join(", ", statuses));
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(room, RateLimitedFactory.OtherPublishKey)).StatusCode);
    }

    [Fact]
    public async Task Client_PublishFlood_ThrowsPresenceException429_WithRetryAfter()
    {
        var presence = new PresenceClient(_client, PresenceFactory.PublishKey);
        var room = $"room-{Guid.NewGuid():N}";
        PresenceException? refused = null;
        for (var i = 0; i < 10 && refused is null; i++)
        {
            refused = await Record.ExceptionAsync(() => presence.PublishAsync(room, "flood", i)) as PresenceException;
        }

        Assert.NotNull(refused);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.True(refused.RetryAfter >= TimeSpan.FromSeconds(1));
        Assert.Equal(429, refused.Problem?.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task StreamOpenFlood_Is429WithRetryAfter_OpenStreamsKeepReceiving()
    {
        var room = $"room-{Guid.NewGuid():N}";
        await using var watcher = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");
        var held = new List<HttpResponseMessage>();
        HttpResponseMessage? refused = null;
        while (refused is null && held.Count < 10)
        {
            // As a browser's EventSource asks.
            using var open = new HttpRequestMessage(HttpMethod.Get, $"/rooms/{room}/events") { Headers = { { "Accept", "text/event-stream" } } };
            var response = await _client.SendAsync(open, HttpCompletionOption.ResponseHeadersRead);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
            else
            {
                held.Add(response);
            }
        }

        Assert.NotNull(refused);
        await Assert429Async(refused);
        Assert.All(held, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        Assert.Equal(HttpStatusCode.Created, (await PublishAsync(room, RateLimitedFactory.OtherPublishKey)).StatusCode);
        Assert.Equal("flood", (await watcher.NextFeedEventAsync()).Event);
        Assert.Equal(held.Count + 1, (await _client.GetFromJsonAsync<JsonElement>($"/rooms/{room}")).GetProperty("connections").GetInt32());
        held.ForEach(response => response.Dispose());
    }
}
