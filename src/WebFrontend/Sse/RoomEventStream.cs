using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Observability;
using Presence.WebFrontend.Presence;

namespace Presence.WebFrontend.Sse;

/// <summary>
/// What a client asked for when it opened a room's event stream; <paramref name="EndsAt"/>: when its
/// subscribe token expires; <paramref name="Activity"/>: it reports whether it is idle (a counted stream).
/// </summary>
internal sealed record StreamRequest(string? ViewerId, bool Counted, long? LastEventId, DateTimeOffset? EndsAt = null, bool Activity = false);

/// <summary>
/// One <c>GET /rooms/{room}/events</c> response: retry line and snapshot at once (and, for a client
/// that reports activity, its connection's id and token), then the missed feed events, then live
/// counts, feed events and keep-alives until the client goes away.
/// </summary>
internal sealed partial class RoomEventStream(
    LocalRooms rooms,
    IGrainFactory grains,
    FrontEndIdentity frontEnd,
    IOptions<SseOptions> options,
    TimeProvider time,
    PresenceMetrics metrics,
    ILogger<RoomEventStream> logger)
{
    private readonly ReadOnlyMemory<byte> _retry = SseFrame.Retry(options.Value.RetryMilliseconds);

    public async Task RunAsync(HttpContext context, string room, StreamRequest request)
    {
        var id = Guid.NewGuid();
        var connection = new SseConnection(
            id, request.ViewerId ?? Member.OwnViewerId(id), request.Counted, options.Value.PendingLimit);

        // Attached (and so receiving live events into its queue) before it reads the snapshot and
        // the history: nothing published meanwhile can fall between the two.
        var local = await rooms.AttachAsync(room, connection);
        var recorded = Task.CompletedTask;
        try
        {
            var snapshot = request.Counted
                ? await local.Joiner.JoinAsync(connection.Member)
                : await ClusterCalls.Retry.ExecuteAsync(async _ => await grains.GetGrain<IPresenceGrain>(room).GetAsync(), context.RequestAborted);
            connection.Joined = request.Counted;
            string? activityToken = null;
            if (request.Counted)
            {
                var identity = new ConnectionIdentity(room, connection.ViewerId, frontEnd.Id, time.GetUtcNow());
                if (request.Activity)
                {
                    // The client may report as soon as it has the token: the record must be there by then.
                    activityToken = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
                    var record = grains.GetGrain<IConnectionGrain>(id);
                    await ClusterCalls.Retry.ExecuteAsync(async _ => await record.RecordAsync(identity, activityToken), context.RequestAborted);
                }
                else
                {
                    recorded = RecordAsync(identity, id);
                }
            }

            var writer = await SseResponse.OpenAsync(context, _retry, connection, await SseFrame.PresenceAsync(snapshot));
            if (activityToken is not null)
            {
                writer.Write((await SseFrame.ConnectionAsync(id, activityToken)).Utf8.Span);
                await writer.FlushAsync(context.RequestAborted);
            }
            metrics.Delivered(isFeedEvent: false, frames: 1);
            if (request.LastEventId is { } lastEventId)
            {
                await ReplayAsync(connection, writer, room, lastEventId);
                await writer.FlushAsync(context.RequestAborted);
            }
            await SseResponse.HoldAsync(connection, writer, request.EndsAt, time, context.RequestAborted);
            if (connection.Overflowed)
            {
                metrics.SlowConsumerDropped();
                // Finishing the response would wait on a client that does not read; it reconnects
                // with Last-Event-ID and replays what it missed.
                context.Abort();
            }
        }
        catch (Exception exception) when (SseResponse.EndedByClient(context, exception))
        {
            // The normal end of an event stream, not an error of ours.
        }
        finally
        {
            local.Remove(connection);
            await LeaveAsync(room, connection);
            await recorded;
            await ForgetAsync(connection);
        }
    }

    private async Task ReplayAsync(SseConnection connection, PipeWriter writer, string room, long lastEventId)
    {
        var feed = grains.GetGrain<IFeedGrain>(room);
        var replay = await ClusterCalls.Retry.ExecuteAsync(async _ => await feed.GetAfterAsync(lastEventId));
        if (lastEventId > replay.LastId)
        {
            return; // Ahead of the room (another room's id, or a room that was reset): no replay.
        }
        // The client has everything up to its id: a live copy of one of those, still in flight, must
        // not reach it again.
        connection.SkipFeedEventsThrough(lastEventId);
        if (replay.Gap is { } gap)
        {
            connection.WriteNow(writer, await SseFrame.GapAsync(gap), isFeedEvent: true);
        }
        foreach (var missed in replay.Events)
        {
            connection.WriteNow(writer, await SseFrame.FeedAsync(missed), isFeedEvent: true);
        }
        metrics.Delivered(isFeedEvent: true, frames: replay.Events.Length + (replay.Gap is null ? 0 : 1));
    }

    /// <summary>Leaves at once; if the cluster cannot be reached, the lease lapses instead.</summary>
    private async Task LeaveAsync(string room, SseConnection connection)
    {
        if (!connection.Joined)
        {
            return;
        }
        try
        {
            var presence = grains.GetGrain<IPresenceGrain>(room);
            await ClusterCalls.Retry.ExecuteAsync(async _ => await presence.LeaveAsync(connection.Id));
        }
        catch (Exception exception)
        {
            LogLeaveFailed(exception, connection.Id);
        }
    }

    /// <summary>
    /// The record of a connection that does not report activity, kept beside the count and off its
    /// path: a record that cannot be stored (Redis away) does not keep the connection from being counted.
    /// </summary>
    private async Task RecordAsync(ConnectionIdentity identity, Guid id)
    {
        try
        {
            await grains.GetGrain<IConnectionGrain>(id).RecordAsync(identity, activityToken: null);
        }
        catch (Exception exception)
        {
            LogRecordFailed(exception, id);
        }
    }

    private async Task ForgetAsync(SseConnection connection)
    {
        if (!connection.Joined)
        {
            return;
        }
        try
        {
            await grains.GetGrain<IConnectionGrain>(connection.Id).ForgetAsync();
        }
        catch (Exception exception)
        {
            LogRecordFailed(exception, connection.Id);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Connection {ConnectionId} could not leave its room; its lease will lapse")]
    private partial void LogLeaveFailed(Exception exception, Guid connectionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The record of connection {ConnectionId} could not be written or removed")]
    private partial void LogRecordFailed(Exception exception, Guid connectionId);
}
