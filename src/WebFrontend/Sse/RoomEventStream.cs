using System.Buffers;
using System.Buffers.Text;
using System.Collections.Immutable;
using System.Globalization;
using System.IO.Pipelines;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Observability;
using Presence.WebFrontend.Presence;
using Presence.WebFrontend.Subscribe;

namespace Presence.WebFrontend.Sse;

/// <summary>
/// What a client asked for when it opened an event stream: one room (<c>/rooms/{room}/events</c>),
/// or several multiplexed (<c>/events?rooms=</c>, <paramref name="Multiplexed"/>, even with one);
/// <paramref name="LastEventId"/> as sent; <paramref name="Activity"/>: it reports whether it is
/// idle (a counted stream).
/// </summary>
internal sealed record StreamRequest(
    ImmutableArray<string> Rooms, bool Multiplexed, string? ViewerId, bool Counted, string? LastEventId, bool Activity = false);

/// <summary>
/// One event stream response, of one room or several: retry line and snapshots at once (and, for a
/// client that reports activity, its connection's id and token), then the missed feed events, then
/// live counts, feed events and keep-alives until the client goes away.
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

    public async Task RunAsync(HttpContext context, StreamRequest request)
    {
        var id = Guid.NewGuid();
        var connection = new SseConnection(id, request.ViewerId ?? Member.OwnViewerId(id), request.Counted, options.Value.PendingLimit,
            request.Multiplexed ? new StreamRooms(request.Rooms) : null);
        var recorded = Task.CompletedTask;
        try
        {
            // Attached (and so receiving live events into its queue) before it reads the snapshots
            // and the history: nothing published meanwhile can fall between the two. What the
            // opening reads is not held for the stream's life: only the response's writer is.
            var writer = await OpenAsync(context, connection, request,
                await SnapshotsAsync(await AttachAsync(request.Rooms, connection), connection, context.RequestAborted));
            if (connection.Joined && !request.Activity)
            {
                recorded = RecordAsync(Identity(connection, request), id);
            }
            await SseResponse.HoldAsync(connection, writer, PrivateRooms.ExpiresAt(context), time, context.RequestAborted);
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
            foreach (var room in request.Rooms)
            {
                rooms.Detach(room, connection);
            }
            if (connection.Joined)
            {
                await LeaveAsync(request.Rooms, id);
            }
            await recorded;
            await ForgetAsync(connection);
        }
    }

    /// <summary>
    /// Starts the response: <c>retry:</c>, each room's counts (the first room's followed by the
    /// <c>connection</c> frame if the client reports activity: it is always the second frame), then
    /// what the client missed. Where each room starts: after
    /// Last-Event-ID's id for it, or (multiplexed, so that every feed frame can carry every room's
    /// position, the opening counts included) live from the room's last id.
    /// </summary>
    private async Task<PipeWriter> OpenAsync(HttpContext context, SseConnection connection, StreamRequest request, PresenceChanged[] snapshots)
    {
        var names = request.Rooms;
        var positions = request.Multiplexed ? StreamRooms.ParsePositions(names, request.LastEventId) : [ParseLastEventId(request.LastEventId)];
        var replays = request.Multiplexed ? await ReadFeedsAsync(names, positions, needLastIds: true, context.RequestAborted) : null;
        for (var slot = 0; slot < names.Length && replays is not null; slot++)
        {
            connection.SkipFeedEventsThrough(Resumes(positions[slot], replays[slot]) ? positions[slot]!.Value : replays[slot]!.LastId, slot);
        }
        var activityToken = request.Activity ? await RecordReportingAsync(Identity(connection, request), connection.Id) : null;

        var writer = SseResponse.Start(context, _retry);
        for (var slot = 0; slot < names.Length; slot++)
        {
            connection.WriteOpeningNow(writer, await SseFrame.PresenceAsync(snapshots[slot]), slot);
            if (slot == 0 && activityToken is not null)
            {
                writer.Write((await SseFrame.ConnectionAsync(connection.Id, activityToken)).Utf8.Span);
            }
        }
        metrics.Delivered(isFeedEvent: false, frames: names.Length);
        await writer.FlushAsync(context.RequestAborted);
        replays ??= await ReadFeedsAsync(names, positions, needLastIds: false, context.RequestAborted);
        if (await ReplayAsync(connection, writer, names, positions, replays))
        {
            await writer.FlushAsync(context.RequestAborted);
        }
        return writer;
    }

    /// <summary>Attaches the connection to each of its rooms at once; if one cannot be, the stream fails (and is detached from all).</summary>
    private async Task<LocalRoom[]> AttachAsync(ImmutableArray<string> names, SseConnection connection) =>
        names.Length == 1 ? [await rooms.AttachAsync(names[0], connection)] : await Task.WhenAll(names.Select(name => rooms.AttachAsync(name, connection)));

    /// <summary>
    /// Each room's counts: a counted connection joins every room at once (each room's joiner
    /// batches it with others); a join that fails fails the stream, and the rooms it did join are left.
    /// </summary>
    private async Task<PresenceChanged[]> SnapshotsAsync(LocalRoom[] locals, SseConnection connection, CancellationToken aborted)
    {
        if (!connection.Counted)
        {
            return await Task.WhenAll(locals.Select(local => ClusterCalls.Retry.ExecuteAsync(
                async _ => await grains.GetGrain<IPresenceGrain>(local.Name).GetAsync(), aborted).AsTask()));
        }
        var joins = locals.Select(local => local.Joiner.JoinAsync(connection.Member)).ToArray();
        try
        {
            var snapshots = await Task.WhenAll(joins);
            connection.Joined = true;
            return snapshots;
        }
        catch when (locals.Length > 1)
        {
            await LeaveAsync([.. locals.Where((_, slot) => joins[slot].IsCompletedSuccessfully).Select(local => local.Name)], connection.Id);
            throw;
        }
    }

    /// <summary>Whether a client that has a room's events up to <paramref name="position"/> gets those after it: not when it is ahead of the room (another room's id, or a room that was reset).</summary>
    private static bool Resumes(long? position, FeedReplay? replay) => position <= replay?.LastId;

    /// <summary>Anything but a whole number is "no replay": a client's stale or odd id never fails the stream.</summary>
    private static long? ParseLastEventId(string? value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;

    /// <summary>
    /// The feed events after each room's position, read from every room at once; a room without a
    /// position is not read, unless <paramref name="needLastIds"/> (then its last id is).
    /// </summary>
    private async Task<FeedReplay?[]> ReadFeedsAsync(ImmutableArray<string> names, long?[] positions, bool needLastIds, CancellationToken aborted) =>
        await Task.WhenAll(names.Select(async (room, slot) =>
        {
            var feed = grains.GetGrain<IFeedGrain>(room);
            return positions[slot] is { } position
                ? await ClusterCalls.Retry.ExecuteAsync(async _ => await feed.GetAfterAsync(position), aborted)
                : needLastIds ? new FeedReplay(null, [], await ClusterCalls.Retry.ExecuteAsync(async _ => await feed.GetLastIdAsync(), aborted)) : null;
        }));

    /// <summary>Writes, room by room, what the client missed; false if nothing was to be written.</summary>
    private async Task<bool> ReplayAsync(SseConnection connection, PipeWriter writer, ImmutableArray<string> names, long?[] positions, FeedReplay?[] replays)
    {
        var frames = 0;
        for (var slot = 0; slot < names.Length; slot++)
        {
            if (!Resumes(positions[slot], replays[slot]))
            {
                continue;
            }
            var replay = replays[slot]!;
            // The client has everything up to its id: a live copy of one of those, still in flight,
            // must not reach it again.
            connection.SkipFeedEventsThrough(positions[slot]!.Value, slot);
            if (replay.Gap is { } gap)
            {
                connection.WriteNow(writer, await FrameAsync(await SseFrame.GapAsync(gap), names[slot], connection), isFeedEvent: true, slot);
            }
            foreach (var missed in replay.Events)
            {
                connection.WriteNow(writer, await FrameAsync(await SseFrame.FeedAsync(missed), names[slot], connection), isFeedEvent: true, slot);
            }
            frames += replay.Events.Length + (replay.Gap is null ? 0 : 1);
        }
        metrics.Delivered(isFeedEvent: true, frames);
        return frames > 0 || positions.Any(position => position is not null);
    }

    private static async Task<SseFrame> FrameAsync(SseFrame frame, string room, SseConnection connection)
    {
        if (connection.Multiplexed)
        {
            await frame.PrepareMultiplexedAsync(room);
        }
        return frame;
    }

    /// <summary>Leaves every room at once; a room that cannot be reached lets the lease lapse instead.</summary>
    private Task LeaveAsync(ImmutableArray<string> names, Guid connectionId) =>
        Task.WhenAll(names.Select(async room =>
        {
            try
            {
                var presence = grains.GetGrain<IPresenceGrain>(room);
                await ClusterCalls.Retry.ExecuteAsync(async _ => await presence.LeaveAsync(connectionId));
            }
            catch (Exception exception)
            {
                LogLeaveFailed(exception, connectionId);
            }
        }));

    private ConnectionIdentity Identity(SseConnection connection, StreamRequest request) =>
        new(request.Rooms[0], connection.ViewerId, frontEnd.Id, time.GetUtcNow(), request.Rooms);

    /// <summary>
    /// The record of a connection that reports activity, stored before its client has the token
    /// (it may report at once); the token. If it cannot be stored (Redis away), the connection is
    /// counted all the same and gets no token: it cannot report, and counts as watching.
    /// </summary>
    private async Task<string?> RecordReportingAsync(ConnectionIdentity identity, Guid id)
    {
        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        try
        {
            await grains.GetGrain<IConnectionGrain>(id).RecordAsync(identity, token);
            return token;
        }
        catch (Exception exception)
        {
            LogRecordFailed(exception, id);
            return null;
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
