using System.Buffers;
using System.IO.Pipelines;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend.Sse;

/// <summary>How much may wait for one connection that reads slower than events come.</summary>
internal readonly record struct PendingLimit(int Events, long Bytes);

/// <summary>
/// One SSE response. While the client keeps up, whoever posts a frame (the room's fan-out, the
/// keep-alive service) writes and flushes it at once: no queue, no task and no thread hop per
/// delivery. While a flush is pending (the client reads slower than we write), frames wait: counts
/// collapse to the latest, keep-alives to one, and feed events queue up to a bound past which the
/// connection is ended (its client reconnects with Last-Event-ID and replays the rest). The bound
/// is in events and in bytes; the frames themselves are shared by every connection they go to.
/// A multiplexed connection (several rooms, <paramref name="rooms"/>) keeps its place and waiting
/// counts per room in that object instead; a single-room connection has none.
/// </summary>
internal sealed class SseConnection(Guid id, string viewerId, bool counted, PendingLimit pendingLimit, StreamRooms? rooms = null)
{
    private readonly Lock _gate = new();
    private readonly Queue<SseFrame> _feed = new();
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PipeWriter? _writer;
    private bool _flushing;
    private Exception? _failure;
    private SseFrame? _presence;
    private bool _keepAlive;
    private bool _wroteSinceKeepAlive;
    private bool _overflowed;
    private long _lastPresenceVersion;
    private long _lastFeedId;
    private long _pendingFeedBytes;

    public Guid Id { get; } = id;

    public string ViewerId { get; } = viewerId;

    /// <summary>Counted in the room's presence (not a <c>?count=false</c> subscriber).</summary>
    public bool Counted { get; } = counted;

    /// <summary>Set once the presence grain has admitted the connection; from then on its lease is renewed.</summary>
    public bool Joined { get; set; }

    public Member Member => new(Id, ViewerId);

    /// <summary>Which tick of the keep-alive interval writes this connection's comment (computed: no field per connection).</summary>
    public int KeepAliveSlice => (int)((uint)Id.GetHashCode() % KeepAliveService.Slices);

    /// <summary>Serves several rooms (<c>GET /events?rooms=</c>): feed frames need their multiplexed body.</summary>
    public bool Multiplexed => rooms is not null;

    /// <summary>
    /// Whether the keep-alive and shutdown passes, which go over every room's connections, take
    /// this connection in <paramref name="room"/>: a multiplexed one only in its first room, so once.
    /// </summary>
    public bool IsListedIn(string room) => rooms is null || rooms.Names[0] == room;

    /// <summary>Posts a frame of <paramref name="room"/> (which only a multiplexed connection needs to know).</summary>
    public void Post(SseFrame frame, bool isFeedEvent, string? room = null)
    {
        lock (_gate)
        {
            var slot = room is null ? 0 : rooms?.SlotOf(room) ?? 0;
            if (_writer is { } writer && !_flushing)
            {
                Send(writer, frame, isFeedEvent, slot);
            }
            else if (!isFeedEvent)
            {
                if (rooms is not null)
                {
                    rooms.KeepLatestPresence(slot, frame);
                }
                else if (_presence is null || frame.Position > _presence.Position)
                {
                    _presence = frame;
                }
            }
            else if (_feed.Count < pendingLimit.Events && _pendingFeedBytes + frame.Utf8.Length <= pendingLimit.Bytes)
            {
                _feed.Enqueue(frame);
                rooms?.PendingSlots.Enqueue(slot);
                _pendingFeedBytes += frame.Utf8.Length;
            }
            else
            {
                // The pending flush may never complete (a client that stopped reading): stop waiting for it.
                _overflowed = true;
                _writer?.CancelPendingFlush();
            }
        }
    }

    /// <summary>Ended because more waited for the client than may: its response should be aborted, not finished.</summary>
    public bool Overflowed
    {
        get { lock (_gate) { return _overflowed; } }
    }

    /// <summary>
    /// Called once per keep-alive interval: the comment goes out only if nothing else was written
    /// since the previous call, so that no connection stays silent much longer than the interval
    /// and busy ones are not sent comments they do not need.
    /// </summary>
    public void PostKeepAlive()
    {
        lock (_gate)
        {
            if (_wroteSinceKeepAlive)
            {
                _wroteSinceKeepAlive = false;
            }
            else if (_writer is { } writer && !_flushing)
            {
                Send(writer, frame: null, isFeedEvent: false, slot: 0);
            }
            else
            {
                _keepAlive = true;
            }
        }
    }

    /// <summary>The client has every feed event of the room in <paramref name="slot"/> up to <paramref name="id"/>.</summary>
    public void SkipFeedEventsThrough(long id, int slot = 0)
    {
        lock (_gate)
        {
            if (rooms is not null)
            {
                rooms.SkipFeedEventsThrough(slot, id);
            }
            else
            {
                _lastFeedId = Math.Max(_lastFeedId, id);
            }
        }
    }

    /// <summary>Writes a frame before the connection runs: the replayed history, or a group's opening snapshot.</summary>
    public void WriteNow(PipeWriter writer, SseFrame frame, bool isFeedEvent, int slot = 0)
    {
        lock (_gate)
        {
            Write(writer, frame, isFeedEvent, slot);
        }
    }

    /// <summary>
    /// A room stream's opening snapshot of a room; on a multiplexed stream with an <c>id:</c> line,
    /// its starting position in every room, so that a client that reconnects before any feed event
    /// resumes exactly.
    /// </summary>
    public void WriteOpeningNow(PipeWriter writer, SseFrame snapshot, int slot)
    {
        lock (_gate)
        {
            rooms?.WriteId(writer);
            Write(writer, snapshot, isFeedEvent: false, slot);
        }
    }

    /// <summary>
    /// Writes what was posted while the response was being opened, then lets posts write to it;
    /// completes when the client has gone away, fell too far behind or could not be written to,
    /// and no flush is pending any more (so the response can end).
    /// </summary>
    public async Task RunAsync(PipeWriter writer, CancellationToken aborted)
    {
        lock (_gate)
        {
            _writer = writer;
            _flushing = true;
        }
        _ = DrainAsync(writer, ValueTask.FromResult(default(FlushResult)));
        await using (aborted.Register(End))
        {
            await _finished.Task;
        }
    }

    /// <summary>Under the lock: writes one frame (a keep-alive if null) and flushes it.</summary>
    private void Send(PipeWriter writer, SseFrame? frame, bool isFeedEvent, int slot)
    {
        try
        {
            if (frame is null)
            {
                writer.Write(SseFrame.KeepAlive.Span);
            }
            else
            {
                Write(writer, frame, isFeedEvent, slot);
            }
            Flush(writer);
        }
        catch (Exception exception)
        {
            EndLocked(exception);
        }
    }

    /// <summary>Under the lock: flushes, and lets <see cref="DrainAsync"/> see the flush through.</summary>
    private void Flush(PipeWriter writer)
    {
        var flush = writer.FlushAsync();
        _flushing = true;
        _ = DrainAsync(writer, flush); // completes at once, without allocating, while the client keeps up
    }

    /// <summary>Waits for the flush (if the client is behind), then writes and flushes what waits, until nothing does.</summary>
    private async Task DrainAsync(PipeWriter writer, ValueTask<FlushResult> pending)
    {
        try
        {
            var flush = pending;
            while (true)
            {
                var result = await flush;
                lock (_gate)
                {
                    var ending = _writer is null || _overflowed || result.IsCompleted || result.IsCanceled;
                    if (ending || !WriteWaiting(writer))
                    {
                        _flushing = false;
                        if (ending)
                        {
                            EndLocked(failure: null);
                        }
                        return;
                    }
                    flush = writer.FlushAsync();
                }
            }
        }
        catch (Exception exception)
        {
            lock (_gate)
            {
                _flushing = false;
                EndLocked(exception);
            }
        }
    }

    private bool WriteWaiting(PipeWriter writer)
    {
        var wrote = false;
        _pendingFeedBytes = 0;
        while (_feed.TryDequeue(out var frame))
        {
            wrote |= Write(writer, frame, isFeedEvent: true, rooms?.PendingSlots.Dequeue() ?? 0);
        }
        if (rooms is not null)
        {
            wrote |= rooms.WritePendingPresence(writer);
            _wroteSinceKeepAlive |= wrote;
        }
        else if (_presence is not null)
        {
            wrote |= Write(writer, _presence, isFeedEvent: false, slot: 0);
            _presence = null;
        }
        if (_keepAlive)
        {
            writer.Write(SseFrame.KeepAlive.Span);
            _keepAlive = false;
            wrote = true;
        }
        return wrote;
    }

    /// <summary>Ends the response: nothing is written from now on, and the run completes once no flush is pending.</summary>
    public void End()
    {
        lock (_gate)
        {
            EndLocked(failure: null);
        }
    }

    /// <summary>
    /// Ends the response after a last frame (a <c>retry:</c> telling the client when to come back),
    /// written only if the client is keeping up: one that is behind would not read it soon anyway.
    /// </summary>
    public void EndWith(ReadOnlyMemory<byte> farewell)
    {
        lock (_gate)
        {
            if (_writer is { } writer && !_flushing)
            {
                try
                {
                    writer.Write(farewell.Span);
                    Flush(writer);
                }
                catch (Exception exception)
                {
                    EndLocked(exception);
                    return;
                }
            }
            EndLocked(failure: null);
        }
    }

    /// <summary>Nothing is written from now on; the run completes (with the failure, if any) once no flush is pending.</summary>
    private void EndLocked(Exception? failure)
    {
        _writer = null;
        _failure ??= failure;
        if (_flushing)
        {
            return;
        }
        if (_failure is null)
        {
            _finished.TrySetResult();
        }
        else
        {
            _finished.TrySetException(_failure);
        }
    }

    /// <summary>Skips what this connection has already had: replay and live delivery overlap on purpose.</summary>
    private bool Write(PipeWriter writer, SseFrame frame, bool isFeedEvent, int slot)
    {
        if (rooms is not null)
        {
            if (!rooms.Write(writer, frame, isFeedEvent, slot))
            {
                return false;
            }
        }
        else
        {
            ref var last = ref isFeedEvent ? ref _lastFeedId : ref _lastPresenceVersion;
            if (frame.Position <= last)
            {
                return false;
            }
            last = frame.Position;
            writer.Write(frame.Utf8.Span);
        }
        _wroteSinceKeepAlive = true;
        return true;
    }
}
