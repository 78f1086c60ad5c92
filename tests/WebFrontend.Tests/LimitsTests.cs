using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting;

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
