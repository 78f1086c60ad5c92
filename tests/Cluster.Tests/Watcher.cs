using Presence.Client;

namespace Presence.Cluster.Tests;

/// <summary>
/// A browser-like client of one room's event stream, on <see cref="PresenceClient"/>: it records
/// every count and feed event it is shown and, when the stream breaks, reconnects after the
/// server's <c>retry:</c> with <c>Last-Event-ID</c>, as EventSource does.
/// </summary>
internal sealed class Watcher : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<PresenceEvent> _counts = [];
    private readonly List<long> _feedIds = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _run = Task.CompletedTask;

    private Watcher(string room) => Room = room;

    public string Room { get; }

    /// <summary>How many times the stream broke (or was refused) and was opened again.</summary>
    public int Reconnects { get; private set; }

    public IReadOnlyList<PresenceEvent> Counts
    {
        get { lock (_gate) { return [.. _counts]; } }
    }

    public IReadOnlyList<long> FeedIds
    {
        get { lock (_gate) { return [.. _feedIds]; } }
    }

    public int? LatestConnections
    {
        get { lock (_gate) { return _counts.Count == 0 ? null : _counts[^1].Connections; } }
    }

    /// <summary>Opens the stream; returns once its first count has arrived.</summary>
    public static async Task<Watcher> OpenAsync(HttpClient frontEnd, string room)
    {
        var watcher = new Watcher(room);
        watcher._run = Task.Run(() => watcher.RunAsync(new PresenceClient(frontEnd)));
        await watcher.WaitUntilAsync(w => w.LatestConnections is not null, TimeSpan.FromSeconds(30));
        return watcher;
    }

    /// <summary>
    /// Completes when <paramref name="condition"/> holds; fails after <paramref name="timeout"/>, or
    /// at once if the stream was refused for good.
    /// </summary>
    public async Task WaitUntilAsync(Func<Watcher, bool> condition, TimeSpan timeout)
    {
        using var expiry = new CancellationTokenSource(timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                changed = _changed.Task;
            }
            if (condition(this))
            {
                return;
            }
            if (_run.IsFaulted)
            {
                await _run;
            }
            try
            {
                await Task.WhenAny(changed, _run).WaitAsync(expiry.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException(
                    $"Room {Room}: not as expected after {timeout.TotalSeconds} s; last count {LatestConnections}, {FeedIds.Count} feed events");
            }
        }
    }

    /// <summary>Reads until disposed.</summary>
    private async Task RunAsync(PresenceClient client)
    {
        try
        {
            await foreach (var roomEvent in client.WatchAsync(Room, cancellationToken: _stop.Token))
            {
                Record(roomEvent);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private void Record(RoomEvent roomEvent)
    {
        lock (_gate)
        {
            switch (roomEvent)
            {
                case PresenceEvent counts:
                    _counts.Add(counts);
                    break;
                case FeedEvent feedEvent:
                    _feedIds.Add(feedEvent.Id);
                    break;
                case ReconnectingEvent:
                    Reconnects++;
                    return;
                default:
                    return;
            }
            _changed.TrySetResult();
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run;
        _stop.Dispose();
    }
}
