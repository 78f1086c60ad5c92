using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.AspNetCore.Http.Features;

namespace Presence.WebFrontend.Sse;

/// <summary>The parts every held event stream (a room's, a group's) shares: its opening, its holding and how it ends.</summary>
internal static class SseResponse
{
    /// <summary>Sends the headers, the <c>retry:</c> line and the first frame (a snapshot) at once.</summary>
    public static async Task<PipeWriter> OpenAsync(HttpContext context, ReadOnlyMemory<byte> retry, SseConnection connection, SseFrame snapshot)
    {
        var writer = Start(context, retry);
        connection.WriteNow(writer, snapshot, isFeedEvent: false);
        await writer.FlushAsync(context.RequestAborted);
        return writer;
    }

    /// <summary>Sets the headers and writes the <c>retry:</c> line (not flushed): the opening frames follow it.</summary>
    public static PipeWriter Start(HttpContext context, ReadOnlyMemory<byte> retry)
    {
        var response = context.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.GetRequiredFeature<IHttpResponseBodyFeature>().DisableBuffering();
        var writer = response.BodyWriter;
        writer.Write(retry.Span);
        return writer;
    }

    /// <summary>Lets posts write to the connection until the client goes away, or <paramref name="endsAt"/> (a private stream's token expiry).</summary>
    public static async Task HoldAsync(SseConnection connection, PipeWriter writer, DateTimeOffset? endsAt, TimeProvider time, CancellationToken aborted)
    {
        // A private stream ends with its token; the client comes back with a fresh one.
        using var expiry = endsAt is { } end
            ? time.CreateTimer(_ => connection.End(), null, TimeSpan.FromTicks(Math.Max(0, (end - time.GetUtcNow()).Ticks)), Timeout.InfiniteTimeSpan)
            : null;
        await connection.RunAsync(writer, aborted);
    }

    /// <summary>
    /// The normal ends of an event stream: the client went away, or writing to it failed (it reset
    /// the connection, or stopped acknowledging and dead-client detection timed it out).
    /// </summary>
    public static bool EndedByClient(HttpContext context, Exception exception) =>
        exception is OperationCanceledException ? context.RequestAborted.IsCancellationRequested : exception is IOException or SocketException;
}
