using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Presence.Client;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend.Tests;

/// <summary>
/// The service with a subscribe signing key, private prefixes <c>private:</c> and <c>team-</c>; it
/// records the path of every request whose token the JwtBearer handler looked at.
/// </summary>
public sealed class PrivateRoomsFactory : PresenceFactory
{
    public const string SigningKey = "a-test-signing-key-of-at-least-32-bytes";

    public ConcurrentQueue<string> TokensReadFor { get; } = new();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Subscribe:SigningKey", SigningKey);
        builder.UseSetting("Subscribe:PrivatePrefixes:0", "private:");
        builder.UseSetting("Subscribe:PrivatePrefixes:1", "team-");
        builder.ConfigureTestServices(services => services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, jwt =>
        {
            var readToken = jwt.Events.OnMessageReceived;
            jwt.Events.OnMessageReceived = received =>
            {
                TokensReadFor.Enqueue(received.Request.Path);
                return readToken(received);
            };
        }));
    }
}

public sealed class PrivateRoomTests(PrivateRoomsFactory factory) : IClassFixture<PrivateRoomsFactory>
{
    private readonly HttpClient _client = factory.CreateStreamingClient();

    private static string NewRoom(string prefix = "private:") => $"{prefix}{Guid.NewGuid():N}";

    private static string Token(string[] rooms, TimeSpan? expiresIn = null, DateTime? notBefore = null, string key = PrivateRoomsFactory.SigningKey,
        string claim = "rooms")
    {
        var now = DateTime.UtcNow;
        var expires = now + (expiresIn ?? TimeSpan.FromMinutes(5));
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { [claim] = rooms },
            IssuedAt = expires < now ? expires - TimeSpan.FromMinutes(1) : now,
            NotBefore = notBefore ?? (expires < now ? expires - TimeSpan.FromMinutes(1) : now),
            Expires = expires,
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key)), SecurityAlgorithms.HmacSha256),
        });
    }

    private async Task<HttpResponseMessage> GetAsync(string path, string? token)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal((int)expected, JsonDocument.Parse(body).RootElement.GetProperty("status").GetInt32());
        Assert.DoesNotContain(PrivateRoomsFactory.SigningKey, body, StringComparison.Ordinal);
    }

    public static TheoryData<string> BadTokens() => new()
    {
        "none",
        "wrong signature",
        "expired",
        "not yet valid",
        "not a token",
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task PrivateRoom_WithoutAValidToken_Is401WithBearerChallenge_StreamAndSnapshot(string kind)
    {
        var room = NewRoom();
        var token = kind switch
        {
            "none" => null,
            "wrong signature" => Token([room], key: "another-key-that-is-also-32-bytes-long"),
            "expired" => Token([room], expiresIn: TimeSpan.FromMinutes(-1)),
            "not yet valid" => Token([room], notBefore: DateTime.UtcNow.AddMinutes(1)),
            _ => "not-a-token",
        };

        foreach (var path in new[] { $"/rooms/{room}/events", $"/rooms/{room}" })
        {
            using var response = await GetAsync(path, token);
            await AssertProblemAsync(response, HttpStatusCode.Unauthorized);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        }
    }

    [Theory]
    [InlineData("private:a", "private:a", HttpStatusCode.OK)]
    [InlineData("private:a", "private:b", HttpStatusCode.Forbidden)]
    [InlineData("team-red-1", "team-red-*", HttpStatusCode.OK)]
    [InlineData("team-blue-1", "team-red-*", HttpStatusCode.Forbidden)]
    [InlineData("private:a", "private:ab", HttpStatusCode.Forbidden)]
    public async Task ValidToken_OpensOnlyTheRoomsItLists_NamesOrPrefixes(string room, string allowed, HttpStatusCode expected)
    {
        room += Guid.NewGuid().ToString("N");
        allowed = allowed.EndsWith('*') ? allowed : allowed + room[^32..];

        using var response = await GetAsync($"/rooms/{room}", Token([allowed]));

        if (expected == HttpStatusCode.OK)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        else
        {
            await AssertProblemAsync(response, expected);
        }
    }

    [Fact]
    public async Task Token_InHeaderOrQuery_OpensTheStream_PublicRoomsNeedNone()
    {
        var room = NewRoom();
        var token = Token([room]);
        await using var byHeader = await SseReader.OpenAsync(WithToken(token), $"/rooms/{room}/events");
        await using var byQuery = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?access_token={token}");
        await using var publicRoom = await SseReader.OpenAsync(_client, $"/rooms/public-{Guid.NewGuid():N}/events");

        Assert.Equal(2, (await byQuery.WaitForPresenceAsync(p => p.Connections == 2)).Connections);
        Assert.Equal(1, (await publicRoom.WaitForPresenceAsync(_ => true)).Connections);
    }

    [Fact]
    public async Task PublicRoomsAndPublishKeys_NeverRunTheTokenHandler()
    {
        var publicRoom = $"public-{Guid.NewGuid():N}";
        var privateRoom = NewRoom();
        await using (var stream = await SseReader.OpenAsync(_client, $"/rooms/{publicRoom}/events?access_token=not-a-token"))
        {
            await stream.WaitForPresenceAsync(_ => true);
        }
        await PresenceFactory.PublishAsync(_client, publicRoom, "by-key", 1);
        await PresenceFactory.PublishAsync(_client, privateRoom, "by-key", 1);
        (await GetAsync($"/rooms/{privateRoom}", Token([privateRoom]))).EnsureSuccessStatusCode();

        Assert.DoesNotContain(factory.TokensReadFor, path => path.Contains(publicRoom, StringComparison.Ordinal));
        Assert.Equal([$"/rooms/{privateRoom}"], factory.TokensReadFor.Where(path => path.Contains(privateRoom, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Client_WatchesAndReadsWithItsToken_401WithoutOne_403WithAnotherRoomsToken()
    {
        var room = NewRoom();
        var presence = new PresenceClient(_client);
        using var timeout = new CancellationTokenSource(ClientEvents.Timeout);
        await using var without = presence.WatchAsync(room, cancellationToken: timeout.Token).GetAsyncEnumerator();
        await using var otherRoom = presence.WatchAsync(room, new WatchOptions { AccessToken = Token([NewRoom()]) }, timeout.Token).GetAsyncEnumerator();
        await using var with = presence.WatchAsync(room, new WatchOptions { AccessToken = Token([room]) }, timeout.Token).GetAsyncEnumerator();

        var unauthorized = await Assert.ThrowsAsync<PresenceException>(async () => await without.MoveNextAsync());
        var forbidden = await Assert.ThrowsAsync<PresenceException>(async () => await otherRoom.MoveNextAsync());
        var counts = await with.NextAsync<PresenceEvent>();
        var snapshot = await presence.GetAsync(room, Token([room]));
        var snapshotWithout = await Assert.ThrowsAsync<PresenceException>(() => presence.GetAsync(room));

        Assert.Equal((HttpStatusCode.Unauthorized, 401), (unauthorized.StatusCode, unauthorized.Problem?.GetProperty("status").GetInt32()));
        Assert.Equal((HttpStatusCode.Forbidden, 403), (forbidden.StatusCode, forbidden.Problem?.GetProperty("status").GetInt32()));
        Assert.Equal((room, 1), (counts.Room, counts.Connections));
        Assert.Equal((room, 1), (snapshot.Room, snapshot.Connections));
        Assert.Equal(HttpStatusCode.Unauthorized, snapshotWithout.StatusCode);
    }

    [Fact]
    public async Task Client_StreamEndedByItsTokensExpiry_ReconnectionRefused_Throws401()
    {
        var room = NewRoom();
        using var timeout = new CancellationTokenSource(ClientEvents.Timeout);
        await using var events = new PresenceClient(_client)
            .WatchAsync(room, new WatchOptions { AccessToken = Token([room], TimeSpan.FromSeconds(2)) }, timeout.Token).GetAsyncEnumerator();
        await events.NextAsync<PresenceEvent>();

        var ended = await events.NextAsync<ReconnectingEvent>();
        var refused = await Assert.ThrowsAsync<PresenceException>(async () => await events.MoveNextAsync());

        Assert.Null(ended.Error); // the server ended the stream
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task SeveralRooms_EveryPrivateRoomListedNeedsTheToken_401Without_403IfOneIsNotAllowed()
    {
        var (allowed, other, open) = (NewRoom(), NewRoom("team-"), $"public-{Guid.NewGuid():N}");
        var url = $"/events?rooms={open},{allowed},{other}";

        await AssertProblemAsync(await GetAsync(url, token: null), HttpStatusCode.Unauthorized);
        await AssertProblemAsync(await GetAsync(url, Token([allowed])), HttpStatusCode.Forbidden);
        await AssertProblemAsync(await GetAsync($"/events?rooms={open},{allowed}", Token([other])), HttpStatusCode.Forbidden);

        using var response = await GetAsync(url, Token([allowed, "team-*"]));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var publicOnly = await SseReader.OpenAsync(_client, $"/events?rooms={open}");
        Assert.Equal(open, (await publicOnly.WaitForPresenceAsync(_ => true)).Room);
    }

    [Fact]
    public async Task SeveralRooms_StreamEndsWhenItsTokenExpires()
    {
        var (room, open) = (NewRoom(), $"public-{Guid.NewGuid():N}");
        await using var stream = await SseReader.OpenAsync(_client, $"/events?rooms={open},{room}&access_token={Token([room], TimeSpan.FromSeconds(2))}");
        await stream.WaitForPresenceAsync(p => p.Room == room && p.Connections == 1);

        await Assert.ThrowsAsync<EndOfStreamException>(() => stream.WaitForAsync(_ => false, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Stream_EndsWhenItsTokenExpires()
    {
        var room = NewRoom();
        await using var stream = await SseReader.OpenAsync(_client, $"/rooms/{room}/events?access_token={Token([room], TimeSpan.FromSeconds(2))}");
        await stream.WaitForPresenceAsync(p => p.Connections == 1);

        await Assert.ThrowsAsync<EndOfStreamException>(() => stream.WaitForAsync(_ => false, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task PrivateRooms_NeverInTopRooms()
    {
        var (hidden, shown) = (NewRoom(), $"public-{Guid.NewGuid():N}");
        var directory = factory.Services.GetRequiredService<IGrainFactory>().GetGrain<IRoomDirectoryGrain>(0);
        await directory.ReportAsync(new RoomWatching(hidden, 1_000_000));
        await directory.ReportAsync(new RoomWatching(shown, 999_999));
        while (!(await directory.GetTopAsync(2, [])).Any(room => room.Room == shown))
        {
            await Task.Yield(); // the reports are one-way calls
        }

        var top = await _client.GetFromJsonAsync<RoomWatching[]>("/rooms?top=1000");

        Assert.Contains(top!, room => room.Room == shown);
        Assert.DoesNotContain(top!, room => room.Room == hidden);
        Assert.Contains(await directory.GetTopAsync(2, []), room => room.Room == hidden);
    }

    [Fact]
    public async Task PrivateGroup_NeedsATokenForItsName_LikeAPrivateRoom_AndSumsItsPrivateRooms()
    {
        var group = NewRoom();
        foreach (var path in new[] { $"/groups/{group}", $"/groups/{group}/events" })
        {
            using var without = await GetAsync(path, token: null);
            await AssertProblemAsync(without, HttpStatusCode.Unauthorized);
            Assert.Equal("Bearer", without.Headers.WwwAuthenticate.Single().Scheme);
            using var otherGroup = await GetAsync(path, Token([NewRoom()]));
            await AssertProblemAsync(otherGroup, HttpStatusCode.Forbidden);
        }
        await using var room = await SseReader.OpenAsync(_client, $"/rooms/{group}:a/events?access_token={Token([$"{group}:*"])}");
        await using var watcher = await SseReader.OpenAsync(_client, $"/groups/{group}/events?access_token={Token([group])}");

        await watcher.WaitForAsync(message => message.Event == "group" && message.Data!.Contains("\"rooms\":1,", StringComparison.Ordinal));
        using var snapshot = await GetAsync($"/groups/{group}", Token([$"{group}*"]));
        Assert.Equal(HttpStatusCode.OK, snapshot.StatusCode);
    }

    [Theory]
    [InlineData("publish", "team-red-*", HttpStatusCode.Created)]
    [InlineData("publish", "team-blue-*", HttpStatusCode.Forbidden)]
    [InlineData("rooms", "team-red-*", HttpStatusCode.Forbidden)]
    public async Task PublishToken_PublishesToTheRoomsItsPublishClaimLists(string claim, string allowed, HttpStatusCode expected)
    {
        var room = NewRoom("team-red-");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/rooms/{room}/events")
        {
            Content = JsonContent.Create(new { type = "by-token", data = 1 }),
            Headers = { Authorization = new AuthenticationHeaderValue("Bearer", Token([allowed], claim: claim)) },
        };

        using var response = await _client.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
    }

    private HttpClient WithToken(string token)
    {
        var client = factory.CreateStreamingClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
