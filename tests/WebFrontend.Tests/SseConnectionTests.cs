using System.IO.Pipelines;
using System.Text;
using Presence.WebFrontend.Sse;

namespace Presence.WebFrontend.Tests;

public sealed class SseConnectionTests
{
    [Fact]
    public async Task KeepAlive_IsSentOnlyAfterAnIntervalWithNothingElseWritten()
    {
        var pipe = new Pipe();
        var connection = new SseConnection(Guid.NewGuid(), "viewer", counted: true, maxPendingEvents: 10);
        using var stop = new CancellationTokenSource();
        var pump = connection.PumpAsync(pipe.Writer, stop.Token);

        connection.Post(Frame(1), isFeedEvent: true);
        Assert.Equal("id: 1\n\n", await ReadAsync(pipe.Reader));

        connection.PostKeepAlive(); // an event went out during this interval: no comment
        connection.Post(Frame(2), isFeedEvent: true);
        Assert.Equal("id: 2\n\n", await ReadAsync(pipe.Reader));

        connection.PostKeepAlive(); // event 2 went out during this interval: no comment
        connection.PostKeepAlive(); // a whole interval of silence
        Assert.Equal(": keep-alive\n\n", await ReadAsync(pipe.Reader));

        await stop.CancelAsync();
        await pump;
    }

    private static SseFrame Frame(long id) => new(id, Encoding.UTF8.GetBytes($"id: {id}\n\n"));

    private static async Task<string> ReadAsync(PipeReader reader)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var result = await reader.ReadAsync(timeout.Token);
        var text = Encoding.UTF8.GetString(result.Buffer);
        reader.AdvanceTo(result.Buffer.End);
        return text;
    }
}
