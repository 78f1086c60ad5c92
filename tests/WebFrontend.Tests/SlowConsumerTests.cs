using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;

namespace Presence.WebFrontend.Tests;

/// <summary>Clients that stop reading, on a real Kestrel socket, beside clients that read.</summary>
public sealed class SlowConsumerTests(KestrelPresenceFactory factory) : IClassFixture<KestrelPresenceFactory>
{
    private const int Stalled = 200;
    private const int Readers = 50;
    private const int Events = 100;
    private static readonly TimeSpan OnTime = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task ClientsThatNeverRead_AreEndedPastTheirBound_WhileReadersGetEveryEventOnTime()
    {
        var room = $"room-{Guid.NewGuid():N}";
        var client = new HttpClient { BaseAddress = factory.Address, Timeout = Timeout.InfiniteTimeSpan };
        var stalled = await Task.WhenAll(Enumerable.Range(0, Stalled).Select(_ => OpenWithoutReadingAsync(room)));
        var readers = await Task.WhenAll(Enumerable.Range(0, Readers).Select(_ => SseReader.OpenAsync(client, $"/rooms/{room}/events")));
        await using (var watcher = await SseReader.OpenAsync(client, $"/rooms/{room}/events?count=false"))
        {
            await watcher.WaitForPresenceAsync(p => p.Connections == Stalled + Readers, TimeSpan.FromSeconds(30));
        }

        // Ten events of 60 KiB a second, 6 MB in all: more than the kernel's socket buffers (up to
        // 4 MiB here) and what may wait for one connection (Sse:MaxPendingBytes, 1 MiB) hold.
        var published = new Stopwatch[Events];
        var reading = readers.Select(reader => ReadAllAsync(reader, published)).ToList();
        var data = new string('x', 60 * 1024);
        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        for (var i = 0; i < Events && await pace.WaitForNextTickAsync(); i++)
        {
            published[i] = Stopwatch.StartNew();
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/rooms/{room}/events")
            {
                Content = JsonContent.Create(new { type = "big", data }),
                Headers = { Authorization = new AuthenticationHeaderValue("Bearer", PresenceFactory.PublishKey) },
            };
            Assert.Equal(HttpStatusCode.Created, (await client.SendAsync(request)).StatusCode);
        }

        var latest = await Task.WhenAll(reading);
        Assert.All(latest, late => Assert.True(late < OnTime, $"an event reached a reader {late} after it was published"));
        await using (var watcher = await SseReader.OpenAsync(client, $"/rooms/{room}/events?count=false"))
        {
            await watcher.WaitForPresenceAsync(p => p.Connections == Readers, TimeSpan.FromSeconds(30));
        }
        var metrics = PrometheusText.Parse(await client.GetStringAsync("/metrics"));
        Assert.Equal(Stalled, metrics.Count("presence_slow_consumers_dropped_total"));
        foreach (var socket in stalled)
        {
            socket.Dispose();
        }
        await Task.WhenAll(readers.Select(reader => reader.DisposeAsync().AsTask()));
    }

    /// <summary>A counted stream whose client never reads, with a small receive buffer so that the server's writes back up soon.</summary>
    private async Task<Socket> OpenWithoutReadingAsync(string room)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync(factory.Address.Host, factory.Address.Port);
        await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /rooms/{room}/events HTTP/1.1\r\nHost: {factory.Address.Authority}\r\n\r\n"));
        return socket;
    }

    /// <summary>Reads every event in order; returns the longest time from a publish to its arrival.</summary>
    private static async Task<TimeSpan> ReadAllAsync(SseReader reader, Stopwatch[] published)
    {
        var latest = TimeSpan.Zero;
        for (var i = 0; i < Events; i++)
        {
            var message = await reader.NextFeedEventAsync(TimeSpan.FromSeconds(60));
            Assert.Equal("big", message.Event);
            Assert.Equal((i + 1).ToString(), message.Id);
            latest = TimeSpan.FromTicks(Math.Max(latest.Ticks, published[i].Elapsed.Ticks));
        }
        return latest;
    }
}
