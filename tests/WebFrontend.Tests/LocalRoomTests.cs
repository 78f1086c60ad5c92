using System.IO.Pipelines;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Observability;
using Presence.WebFrontend.Sse;
using static Presence.WebFrontend.Tests.PipeText;

namespace Presence.WebFrontend.Tests;

[Collection(nameof(PresenceFactory))]
public sealed class LocalRoomTests(PresenceFactory factory)
{
    [Fact]
    public async Task FanOut_DoesNotReachConnectionsThatAttachWhileItIsUnderWay()
    {
        var name = $"room-{Guid.NewGuid():N}";
        var room = new LocalRoom(name, factory.Services.GetRequiredService<IClusterClient>(), "front-end", factory.Services.GetRequiredService<PresenceMetrics>(), factory.Services.GetRequiredService<CountPacing>(), NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        var late = Enumerable.Range(0, 20).Select(_ => (Connection: SseConnectionTests.NewConnection(maxPendingEvents: 10), Pipe: new Pipe())).ToList();
        var runs = late.Select(joiner => joiner.Connection.RunAsync(joiner.Pipe.Writer, stop.Token)).ToList();
        var first = SseConnectionTests.NewConnection(maxPendingEvents: 10);
        var firstPipe = new Pipe();
        var attachLate = new HookedWriter(firstPipe.Writer, onFirstFlush: () => late.ForEach(joiner => room.TryAdd(joiner.Connection)));
        runs.Add(first.RunAsync(attachLate, stop.Token));
        Assert.True(room.TryAdd(first));

        await room.ObserveAsync(new PresenceChanged(name, Watching: 1, Connections: 1, Version: 1));
        await room.ObserveAsync(new PresenceChanged(name, Watching: 21, Connections: 21, Version: 2));

        Assert.Contains("\"version\":1,", await ReadUntilAsync(firstPipe.Reader, "\"version\":2,\"idle\":0}\n\n"));
        Assert.Equal(21, room.Connections.Count());
        foreach (var (_, pipe) in late)
        {
            var received = await ReadUntilAsync(pipe.Reader, "\"version\":2,\"idle\":0}\n\n");
            Assert.DoesNotContain("\"version\":1,", received);
        }
        await stop.CancelAsync();
        await Task.WhenAll(runs).WaitAsync(WaitLimit);
    }

    [Fact]
    public async Task CountsArrivingDuringAPass_CollapseToTheNewest_WhichGoesOutNext()
    {
        var name = $"room-{Guid.NewGuid():N}";
        var room = new LocalRoom(name, factory.Services.GetRequiredService<IClusterClient>(), "front-end", factory.Services.GetRequiredService<PresenceMetrics>(), factory.Services.GetRequiredService<CountPacing>(), NullLogger.Instance);
        PresenceChanged Counts(int version) => new(name, Watching: version, Connections: version, Version: version);
        using var stop = new CancellationTokenSource();
        var (hooked, plain) = (new Pipe(), new Pipe());
        var (first, second) = (SseConnectionTests.NewConnection(maxPendingEvents: 10), SseConnectionTests.NewConnection(maxPendingEvents: 10));
        var newerDuringThePass = new List<Task>();
        var arriveDuringThePass = new HookedWriter(hooked.Writer, onFirstFlush: () => newerDuringThePass.AddRange([room.ObserveAsync(Counts(2)), room.ObserveAsync(Counts(3))]));
        var runs = new[] { first.RunAsync(arriveDuringThePass, stop.Token), second.RunAsync(plain.Writer, stop.Token) };
        Assert.True(room.TryAdd(first));
        Assert.True(room.TryAdd(second));

        await room.ObserveAsync(Counts(1));

        foreach (var pipe in new[] { hooked, plain })
        {
            var received = await ReadUntilAsync(pipe.Reader, "\"version\":3,\"idle\":0}\n\n");
            Assert.Contains("\"version\":1,", received);
            Assert.DoesNotContain("\"version\":2,", received);
        }
        await Task.WhenAll(newerDuringThePass).WaitAsync(WaitLimit);
        await stop.CancelAsync();
        await Task.WhenAll(runs).WaitAsync(WaitLimit);
    }

    [Fact]
    public async Task FeedEventsTheStreamLost_AreReadFromTheFeedGrainInOrder_ThenTheStreamIsSubscribedAgain()
    {
        var name = $"room-{Guid.NewGuid():N}";
        var client = factory.Services.GetRequiredService<IClusterClient>();
        var (feed, presence) = (client.GetGrain<IFeedGrain>(name), client.GetGrain<IPresenceGrain>(name));
        var room = new LocalRoom(name, client, "front-end", factory.Services.GetRequiredService<PresenceMetrics>(), factory.Services.GetRequiredService<CountPacing>(), NullLogger.Instance);
        await room.Subscribed;
        var connection = SseConnectionTests.NewConnection(maxPendingEvents: 10);
        var pipe = new Pipe();
        using var stop = new CancellationTokenSource();
        var run = connection.RunAsync(pipe.Writer, stop.Token);
        Assert.True(room.TryAdd(connection));

        await room.UnsubscribeAsync(); // the subscription is lost silently, as when a silo dies
        for (var n = 1; n <= 3; n++)
        {
            await feed.PublishAsync("lost", Encoding.UTF8.GetBytes($"{n}"));
        }
        // A renewal finds the feed at 3; by the next one the stream has still not delivered 3.
        await room.CheckSubscriptionAsync(await presence.GetAsync(), lastFeedId: 3);
        await room.CheckSubscriptionAsync(await presence.GetAsync(), lastFeedId: 3);
        var caughtUp = await ReadUntilAsync(pipe.Reader, "id: 3\n\n");
        await feed.PublishAsync("live", "4"u8.ToArray());
        var live = await ReadUntilAsync(pipe.Reader, "id: 4\n\n");

        Assert.Equal([1, 2, 3], FeedIds(caughtUp));
        Assert.Equal([4], FeedIds(live));
        await stop.CancelAsync();
        await run.WaitAsync(WaitLimit);
    }

    private static IEnumerable<long> FeedIds(string text) =>
        Regex.Matches(text, @"^id: (\d+)$", RegexOptions.Multiline).Select(match => long.Parse(match.Groups[1].Value));

    /// <summary>Runs an action inside the first flush: at that moment the room's fan-out is under way.</summary>
    private sealed class HookedWriter(PipeWriter inner, Action onFirstFlush) : PipeWriter
    {
        private Action? _onFirstFlush = onFirstFlush;

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Interlocked.Exchange(ref _onFirstFlush, null)?.Invoke();
            return inner.FlushAsync(cancellationToken);
        }

        public override void Advance(int bytes) => inner.Advance(bytes);

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);
    }
}
