using System.IO.Pipelines;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Presence.Grains.Interfaces;
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
        var room = new LocalRoom(name, factory.Services.GetRequiredService<IClusterClient>(), "front-end", NullLogger.Instance);
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

        Assert.Contains("\"version\":1}", await ReadUntilAsync(firstPipe.Reader, "\"version\":2}\n\n"));
        Assert.Equal(21, room.Connections.Count());
        foreach (var (_, pipe) in late)
        {
            var received = await ReadUntilAsync(pipe.Reader, "\"version\":2}\n\n");
            Assert.DoesNotContain("\"version\":1}", received);
        }
        await stop.CancelAsync();
        await Task.WhenAll(runs).WaitAsync(WaitLimit);
    }

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
