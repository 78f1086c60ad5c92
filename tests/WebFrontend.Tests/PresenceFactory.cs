using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Presence.WebFrontend.Tests;

/// <summary>
/// The whole service in-process: front end and its co-hosted silo, on Orleans ports of its own so
/// that several factories can run at once. Short keep-alive and publish intervals keep tests fast;
/// no departure grace, so that a viewer's leave shows at once (GraceTests set one).
/// </summary>
public class PresenceFactory : WebApplicationFactory<Program>
{
    public const string PublishKey = "test-publish-key";
    public const int KeepAliveSeconds = 1;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseSetting("Orleans:SiloPort", LoopbackServer.FreePort().ToString());
        builder.UseSetting("Orleans:GatewayPort", LoopbackServer.FreePort().ToString());
        builder.UseSetting("Presence:PublishIntervalMilliseconds", "50");
        builder.UseSetting("Presence:DepartureGraceSeconds", "0");
        builder.UseSetting("Sse:KeepAliveSeconds", KeepAliveSeconds.ToString());
        builder.UseSetting("Sse:RetryMilliseconds", "1500");
        builder.UseSetting("Feed:PublishKeys:0", PublishKey);
        // Tests in one collection share a factory and a key, and some publish thousands at once;
        // the rate limits have tests (and factories) of their own.
        builder.UseSetting("RateLimits:PublishPerSecond", "100000");
        builder.UseSetting("RateLimits:PublishBurst", "100000");
    }

    /// <summary>An HTTP client for long-lived event streams.</summary>
    public HttpClient CreateStreamingClient()
    {
        var client = CreateClient();
        client.Timeout = Timeout.InfiniteTimeSpan;
        return client;
    }

    /// <summary>Publishes a feed event with the test key; fails unless it is stored.</summary>
    public static async Task PublishAsync(HttpClient client, string room, string type, object data)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/rooms/{room}/events")
        {
            Content = JsonContent.Create(new { type, data }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", PublishKey);
        (await client.SendAsync(request)).EnsureSuccessStatusCode();
    }

}

/// <summary>The service on a real Kestrel socket, for a real browser and for bytes HttpClient would not send.</summary>
public class KestrelPresenceFactory : PresenceFactory
{
    private readonly IReadOnlyDictionary<string, string> _settings;

    public KestrelPresenceFactory()
        : this(0, new Dictionary<string, string>())
    {
    }

    /// <summary>On <paramref name="port"/> (0: any free one), with <paramref name="settings"/> over the defaults.</summary>
    internal KestrelPresenceFactory(int port, IReadOnlyDictionary<string, string> settings)
    {
        _settings = settings;
        UseKestrel(port);
        StartServer();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }

    public Uri Address => Services.ListeningAddress();
}

[CollectionDefinition(nameof(PresenceFactory))]
public sealed class PresenceCollection : ICollectionFixture<PresenceFactory>;
