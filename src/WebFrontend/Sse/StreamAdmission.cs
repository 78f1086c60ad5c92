using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Presence.WebFrontend.Observability;

namespace Presence.WebFrontend.Sse;

/// <summary>Limits of one front end (section <c>Limits</c>).</summary>
public sealed class LimitsOptions
{
    public const string Section = "Limits";

    /// <summary>
    /// Event streams open at once. The default stays under a process's usual 20,000 open files,
    /// so that a crowd past it gets a clean 503, not a server that can no longer accept.
    /// </summary>
    [Range(1, 10_000_000)]
    public int MaxStreams { get; set; } = 19_000;
}

/// <summary>Why a stream was not let in.</summary>
internal enum StreamRefusal
{
    None,
    Full,
    Stopping,
}

/// <summary>
/// Counts this front end's open event streams: past <see cref="LimitsOptions.MaxStreams"/>, or once
/// the front end is stopping, no new one is let in.
/// </summary>
internal sealed class StreamAdmission(IOptions<LimitsOptions> options, PresenceMetrics metrics)
{
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _allClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _open;

    public bool Stopping { get; private set; }

    public int Open
    {
        get { lock (_gate) { return _open; } }
    }

    /// <summary>Lets a stream in (call <see cref="Close"/> when it ends), or says why not.</summary>
    public StreamRefusal TryOpen()
    {
        lock (_gate)
        {
            if (Stopping)
            {
                return StreamRefusal.Stopping;
            }
            if (_open >= options.Value.MaxStreams)
            {
                return StreamRefusal.Full;
            }
            _open++;
            metrics.StreamOpened();
            return StreamRefusal.None;
        }
    }

    public void Close()
    {
        lock (_gate)
        {
            metrics.StreamClosed();
            if (--_open == 0 && Stopping)
            {
                _allClosed.TrySetResult();
            }
        }
    }

    /// <summary>Lets no stream in any more; completes once every open one has ended.</summary>
    public Task StopAsync()
    {
        lock (_gate)
        {
            Stopping = true;
            if (_open == 0)
            {
                _allClosed.TrySetResult();
            }
            return _allClosed.Task;
        }
    }
}
