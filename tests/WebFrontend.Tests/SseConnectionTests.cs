using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Sse;
using static Presence.WebFrontend.Tests.PipeText;

namespace Presence.WebFrontend.Tests;

public sealed class SseConnectionTests
{
    [Fact]
    public async Task KeepAlive_IsSentOnlyAfterAnIntervalWithNothingElseWritten()
    {
        var pipe = new Pipe();
        var connection = NewConnection(maxPendingEvents: 10);
        using var stop = new CancellationTokenSource();
        var run = connection.RunAsync(pipe.Writer, stop.Token);

        connection.Post(Feed(1), isFeedEvent: true);
        Assert.Equal("id: 1\n\n", await ReadAsync(pipe.Reader));

        connection.PostKeepAlive(); // an event went out during this interval: no comment
        connection.Post(Feed(2), isFeedEvent: true);
        Assert.Equal("id: 2\n\n", await ReadAsync(pipe.Reader));

        connection.PostKeepAlive(); // event 2 went out during this interval: no comment
        connection.PostKeepAlive(); // a whole interval of silence
        Assert.Equal(": keep-alive\n\n", await ReadAsync(pipe.Reader));

        await stop.CancelAsync();
        await run.WaitAsync(WaitLimit);
    }

    [Fact]
    public async Task Post_WhileTheClientIsBehind_FeedEventsWaitInOrderAndCountsCollapseToTheLatest()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 16, resumeWriterThreshold: 1));
        var connection = NewConnection(maxPendingEvents: 10);
        using var stop = new CancellationTokenSource();
        var run = connection.RunAsync(pipe.Writer, stop.Token);

        connection.Post(Feed(1), isFeedEvent: true);
        connection.Post(Feed(2), isFeedEvent: true);
        connection.Post(Feed(3), isFeedEvent: true); // past the pause threshold: the flush waits for the reader
        connection.Post(Count(1), isFeedEvent: false);
        connection.Post(Feed(4), isFeedEvent: true);
        connection.Post(Count(2), isFeedEvent: false);

        Assert.Equal("id: 1\n\nid: 2\n\nid: 3\n\nid: 4\n\ncount: 2\n\n", await ReadUntilAsync(pipe.Reader, "count: 2\n\n"));
        connection.Post(Feed(5), isFeedEvent: true); // caught up: written at once again
        Assert.Equal("id: 5\n\n", await ReadAsync(pipe.Reader));
        Assert.False(run.IsCompleted);

        await stop.CancelAsync();
        await run.WaitAsync(WaitLimit);
    }

    [Fact]
    public async Task Multiplexed_WhileBehind_FeedEventsWaitInOrderWithEveryRoomsPosition_CountsCollapsePerRoom()
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 16, resumeWriterThreshold: 1));
        var connection = new SseConnection(Guid.NewGuid(), "viewer", counted: true, new PendingLimit(10, 1 << 20), new StreamRooms(["a", "b"]));
        connection.SkipFeedEventsThrough(4, slot: 0);
        using var stop = new CancellationTokenSource();
        var run = connection.RunAsync(pipe.Writer, stop.Token);

        connection.Post(await MultiplexedAsync("a", 5), isFeedEvent: true, "a"); // past the pause threshold: what follows waits
        connection.Post(Count(1), isFeedEvent: false, "a");
        connection.Post(await MultiplexedAsync("b", 1), isFeedEvent: true, "b");
        connection.Post(Count(7), isFeedEvent: false, "b");
        connection.Post(Count(2), isFeedEvent: false, "a");
        connection.Post(await MultiplexedAsync("a", 4), isFeedEvent: true, "a"); // had already
        connection.Post(await MultiplexedAsync("b", 2), isFeedEvent: true, "b");

        Assert.Equal(
            """
            id: a=5,b=0
            event: message
            data: {"room":"a","id":"5","data":5}

            id: a=5,b=1
            event: message
            data: {"room":"b","id":"1","data":1}

            id: a=5,b=2
            event: message
            data: {"room":"b","id":"2","data":2}

            count: 2

            count: 7


            """.ReplaceLineEndings("\n"),
            await ReadUntilAsync(pipe.Reader, "count: 7\n\n"));

        await stop.CancelAsync();
        await run.WaitAsync(WaitLimit);
    }

    [Theory]
    [InlineData(2, 1 << 20)]
    [InlineData(100, 10)] // each frame here is 7 bytes: the second one waiting is past 10
    public async Task Post_MoreFeedEventsOrBytesThanMayWait_EndsTheConnection(int maxPendingEvents, long maxPendingBytes)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 1, resumeWriterThreshold: 1));
        var connection = NewConnection(maxPendingEvents, maxPendingBytes);
        var run = connection.RunAsync(pipe.Writer, CancellationToken.None);

        for (var id = 1; id <= 4; id++)
        {
            connection.Post(Feed(id), isFeedEvent: true);
        }
        Assert.Equal("id: 1\n\n", await ReadAsync(pipe.Reader));

        await run.WaitAsync(WaitLimit);
    }

    [Fact]
    public async Task Post_ToAResponseThatFails_DoesNotThrowAndFailsTheRun()
    {
        var pipe = new Pipe();
        var connection = NewConnection(maxPendingEvents: 10);
        var run = connection.RunAsync(pipe.Writer, CancellationToken.None);
        pipe.Reader.Complete(new IOException("connection reset"));

        connection.Post(Feed(1), isFeedEvent: true);

        var failure = await Assert.ThrowsAsync<IOException>(() => run.WaitAsync(WaitLimit));
        Assert.Equal("connection reset", failure.Message);
    }

    internal static SseConnection NewConnection(int maxPendingEvents, long maxPendingBytes = 1 << 20) =>
        new(Guid.NewGuid(), "viewer", counted: true, new PendingLimit(maxPendingEvents, maxPendingBytes));

    private static async Task<SseFrame> MultiplexedAsync(string room, long id)
    {
        var frame = await SseFrame.FeedAsync(new FeedEvent(room, id, "message", Encoding.UTF8.GetBytes(id.ToString(CultureInfo.InvariantCulture))));
        await frame.PrepareMultiplexedAsync(room);
        return frame;
    }

    private static SseFrame Feed(long id) => new(id, Encoding.UTF8.GetBytes($"id: {id}\n\n"));

    private static SseFrame Count(long version) => new(version, Encoding.UTF8.GetBytes($"count: {version}\n\n"));
}
