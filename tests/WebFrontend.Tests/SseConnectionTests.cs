using System.IO.Pipelines;
using System.Text;
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

    private static SseFrame Feed(long id) => new(id, Encoding.UTF8.GetBytes($"id: {id}\n\n"));

    private static SseFrame Count(long version) => new(version, Encoding.UTF8.GetBytes($"count: {version}\n\n"));
}
