using Presence.WebFrontend.Tests;

namespace Presence.Cluster.Tests;

/// <summary>
/// A browser-like client of one room's event stream: it records every count and feed event it is
/// shown and, when the stream breaks, reconnects after the server's <c>retry:</c> with
/// <c>Last-Event-ID</c>, as EventSource does.
/// </summary>
internal sealed class Watcher : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<PresenceCounts> _counts = [];
    private readonly List<long> _feedIds = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _run = Task.CompletedTask;

    private Watcher(string room) => Room = room;

    public string Room { get; }

    /// <summary>How many times the stream broke and was opened again.</summary>
    public int Reconnects { get; private set; }

    public IReadOnlyList<PresenceCounts> Counts
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
    public static async Task<Watcher> OpenAsync(Func<HttpClient> frontEnd, string room)
    {
        var first = await SseReader.OpenAsync(frontEnd(), $"/rooms/{room}/events");
        var watcher = new Watcher(room);
        watcher._run = Task.Run(() => watcher.RunAsync(frontEnd, first));
        await watcher.WaitUntilAsync(w => w.LatestConnections is not null, TimeSpan.FromSeconds(30));
        return watcher;
    }

    /// <summary>Completes when <paramref name="condition"/> holds; fails after <paramref name="timeout"/>.</summary>
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
            try
            {
                await changed.WaitAsync(expiry.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException(
                    $"Room {Room}: not as expected after {timeout.TotalSeconds} s; last count {LatestConnections}, {FeedIds.Count} feed events");
            }
        }
    }

    /// <summary>Reads until disposed; the reader is this loop's own, opened again whenever the stream breaks.</summary>
    private async Task RunAsync(Func<HttpClient> frontEnd, SseReader first)
    {
        var retry = TimeSpan.FromSeconds(3);
        var reader = first;
        try
        {
            while (true)
            {
                try
                {
                    reader ??= await SseReader.OpenAsync(frontEnd(), $"/rooms/{Room}/events", LastEventId(), _stop.Token);
                    while (true)
                    {
                        Record(await reader.NextAsync(Timeout.InfiniteTimeSpan, _stop.Token), ref retry);
                    }
                }
                catch (Exception) when (!_stop.IsCancellationRequested)
                {
                    // The stream broke (its front end or the cluster failed): reconnect after the
                    // server's retry, as a browser does.
                    if (reader is not null)
                    {
                        await reader.DisposeAsync();
                        reader = null;
                    }
                    Reconnects++;
                    await Task.Delay(retry, _stop.Token);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
        finally
        {
            if (reader is not null)
            {
                await reader.DisposeAsync();
            }
        }
    }

    private void Record(SseMessage message, ref TimeSpan retry)
    {
        if (message.Retry is { } milliseconds)
        {
            retry = TimeSpan.FromMilliseconds(milliseconds);
        }
        lock (_gate)
        {
            if (message.Event == "presence")
            {
                _counts.Add(message.Presence);
            }
            else if (message.Id is { } id)
            {
                _feedIds.Add(long.Parse(id));
            }
            else
            {
                return;
            }
            _changed.TrySetResult();
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private string? LastEventId()
    {
        lock (_gate)
        {
            return _feedIds.Count == 0 ? null : _feedIds[^1].ToString();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run;
        _stop.Dispose();
    }
}
