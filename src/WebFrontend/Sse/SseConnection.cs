using System.Buffers;
using System.IO.Pipelines;
using System.Threading.Channels;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend.Sse;

/// <summary>
/// One SSE response and what is waiting to be written to it. Posting never blocks the fan-out:
/// counts collapse to the latest, keep-alives to one, and feed events queue up to a bound past which
/// the connection is closed (its client reconnects with Last-Event-ID and replays the rest).
/// </summary>
internal sealed class SseConnection(Guid id, string viewerId, bool counted, int maxPendingEvents)
{
    private readonly Lock _gate = new();
    private readonly Queue<SseFrame> _feed = new();
    private readonly Channel<bool> _wakeUp = Channel.CreateBounded<bool>(
        new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private SseFrame? _presence;
    private bool _keepAlive;
    private bool _wroteSinceKeepAlive;
    private bool _overflowed;
    private long _lastPresenceVersion;
    private long _lastFeedId;

    public Guid Id { get; } = id;

    public string ViewerId { get; } = viewerId;

    /// <summary>Counted in the room's presence (not a <c>?count=false</c> subscriber).</summary>
    public bool Counted { get; } = counted;

    /// <summary>Set once the presence grain has admitted the connection; from then on its lease is renewed.</summary>
    public bool Joined { get; set; }

    public Member Member => new(Id, ViewerId);

    /// <summary>Which tick of the keep-alive interval writes this connection's comment.</summary>
    public int KeepAliveSlice { get; } = (int)((uint)id.GetHashCode() % KeepAliveService.Slices);

    public void Post(SseFrame frame, bool isFeedEvent)
    {
        lock (_gate)
        {
            if (!isFeedEvent)
            {
                if (_presence is null || frame.Position > _presence.Position)
                {
                    _presence = frame;
                }
            }
            else if (_feed.Count < maxPendingEvents)
            {
                _feed.Enqueue(frame);
            }
            else
            {
                _overflowed = true;
            }
        }
        _wakeUp.Writer.TryWrite(true);
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
                return;
            }
            _keepAlive = true;
        }
        _wakeUp.Writer.TryWrite(true);
    }

    public void SkipFeedEventsThrough(long id)
    {
        lock (_gate)
        {
            _lastFeedId = Math.Max(_lastFeedId, id);
        }
    }

    /// <summary>Writes a frame outside the queue: the opening snapshot and the replayed history.</summary>
    public void WriteNow(PipeWriter writer, SseFrame frame, bool isFeedEvent)
    {
        lock (_gate)
        {
            Write(writer, frame, isFeedEvent);
        }
    }

    /// <summary>Writes what is posted until the client goes away or falls too far behind.</summary>
    public async Task PumpAsync(PipeWriter writer, CancellationToken aborted)
    {
        await using var stop = aborted.Register(() => _wakeUp.Writer.TryComplete());
        while (await _wakeUp.Reader.WaitToReadAsync())
        {
            _wakeUp.Reader.TryRead(out _);
            lock (_gate)
            {
                if (_overflowed)
                {
                    return;
                }
                while (_feed.TryDequeue(out var frame))
                {
                    Write(writer, frame, isFeedEvent: true);
                }
                if (_presence is not null)
                {
                    Write(writer, _presence, isFeedEvent: false);
                    _presence = null;
                }
                if (_keepAlive)
                {
                    writer.Write(SseFrame.KeepAlive.Span);
                    _keepAlive = false;
                }
            }

            var flushed = await writer.FlushAsync(aborted);
            if (flushed.IsCompleted || flushed.IsCanceled)
            {
                return;
            }
        }
    }

    /// <summary>Skips what this connection has already had: replay and live delivery overlap on purpose.</summary>
    private void Write(PipeWriter writer, SseFrame frame, bool isFeedEvent)
    {
        ref var last = ref isFeedEvent ? ref _lastFeedId : ref _lastPresenceVersion;
        if (frame.Position <= last)
        {
            return;
        }
        last = frame.Position;
        writer.Write(frame.Utf8.Span);
        _wroteSinceKeepAlive = true;
    }
}
