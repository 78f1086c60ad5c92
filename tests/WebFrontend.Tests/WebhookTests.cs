using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Hosting;

namespace Presence.WebFrontend.Tests;

/// <summary>The service posting to a <see cref="WebhookReceiver"/>, with a departure grace of 1 s and retries 100 ms apart (doubling).</summary>
public sealed class WebhookFactory : PresenceFactory, IAsyncLifetime
{
    public const string Secret = "webhook-test-secret";
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    public WebhookReceiver Receiver { get; private set; } = null!;

    public async Task InitializeAsync() => Receiver = await WebhookReceiver.StartAsync();

    async Task IAsyncLifetime.DisposeAsync()
    {
        await base.DisposeAsync();
        await Receiver.DisposeAsync();
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Presence:DepartureGraceSeconds", Grace.TotalSeconds.ToString(CultureInfo.InvariantCulture));
        builder.UseSetting("Webhooks:Url", Receiver.Url.ToString());
        builder.UseSetting("Webhooks:Secret", Secret);
        builder.UseSetting("Webhooks:RetryDelayMilliseconds", "100");
    }
}

public sealed class WebhookTests(WebhookFactory factory) : IClassFixture<WebhookFactory>
{
    private readonly HttpClient _client = factory.CreateStreamingClient();
    private WebhookReceiver Receiver => factory.Receiver;

    private static string NewRoom() => $"room-{Guid.NewGuid():N}";

    [Fact]
    public async Task Viewer_ComesAndGoes_OccupiedThenVacatedAfterTheGrace_Signed()
    {
        var room = NewRoom();
        var alice = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?viewer=alice");
        var occupied = await Receiver.NextAsync(room);

        await alice.DisposeAsync();
        var vacated = await Receiver.NextAsync(room);

        Assert.Equal(("room.occupied", room), Parsed(occupied));
        Assert.Equal(("room.vacated", room), Parsed(vacated));
        Assert.All([occupied, vacated], delivery =>
        {
            Assert.Equal(200, delivery.Status);
            Assert.Equal(Signature(delivery.Body), delivery.Signature);
            Assert.Equal(["type", "room", "at"], delivery.Json.EnumerateObject().Select(property => property.Name));
        });
        // ISO 8601 in UTC; the room was vacated only once alice's grace was over.
        var (occupiedAt, vacatedAt) = (At(occupied), At(vacated));
        Assert.Equal(TimeSpan.Zero, occupiedAt.Offset);
        Assert.True(vacatedAt - occupiedAt >= WebhookFactory.Grace, $"vacated {vacatedAt - occupiedAt} after occupied");
    }

    [Fact]
    public async Task Receiver_Fails500Twice_SameBodyAThirdTime_OneSuccessPerTransition_InOrder()
    {
        var room = NewRoom();
        Receiver.Fail(room, times: 2);

        // An anonymous viewer: vacated at once, queued behind the occupied that is being retried.
        var viewer = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");
        await viewer.WaitForPresenceAsync(p => p.Connections == 1);
        await viewer.DisposeAsync();
        var deliveries = new List<WebhookDelivery>();
        for (var i = 0; i < 4; i++)
        {
            deliveries.Add(await Receiver.NextAsync(room));
        }
        // A new transition: anything still owed from before would come ahead of it.
        await using var again = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");
        deliveries.Add(await Receiver.NextAsync(room));

        Assert.Equal([500, 500, 200, 200, 200], deliveries.Select(delivery => delivery.Status));
        Assert.Equal(
            ["room.occupied", "room.occupied", "room.occupied", "room.vacated", "room.occupied"],
            deliveries.Select(delivery => Parsed(delivery).Type));
        Assert.Equal(deliveries[0].Body, deliveries[1].Body);
        Assert.Equal(deliveries[0].Body, deliveries[2].Body);
        Assert.All(deliveries, delivery => Assert.Equal(Signature(delivery.Body), delivery.Signature));
    }

    [Fact]
    public async Task Receiver_HoldsItsAnswer_CountsMoveOnMeanwhile()
    {
        var room = NewRoom();
        var hold = Receiver.Hold(room);
        await using var watcher = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?count=false");
        await using var first = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");
        var occupied = await Receiver.NextAsync(room);

        // The receiver has not answered the occupied: the room's counts do not wait for it.
        var second = await SseReader.OpenAsync(_client, $"/rooms/{room}/events");
        await watcher.WaitForPresenceAsync(p => p.Connections == 2, TimeSpan.FromSeconds(2));
        await second.DisposeAsync();
        await watcher.WaitForPresenceAsync(p => p.Connections == 1, TimeSpan.FromSeconds(2));
        hold.SetResult();

        Assert.Equal(("room.occupied", room), Parsed(occupied));
    }

    private static (string? Type, string? Room) Parsed(WebhookDelivery delivery) =>
        (delivery.Json.GetProperty("type").GetString(), delivery.Json.GetProperty("room").GetString());

    private static DateTimeOffset At(WebhookDelivery delivery)
    {
        var at = delivery.Json.GetProperty("at").GetString()!;
        Assert.EndsWith("Z", at);
        return DateTimeOffset.Parse(at, CultureInfo.InvariantCulture);
    }

    /// <summary>What a receiver computes to verify a delivery: HMAC-SHA256 of the exact body bytes.</summary>
    private static string Signature(byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(WebhookFactory.Secret), body));
}
