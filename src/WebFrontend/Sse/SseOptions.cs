using System.ComponentModel.DataAnnotations;

namespace Presence.WebFrontend.Sse;

/// <summary>Server-Sent Events responses (section <c>Sse</c>).</summary>
public sealed class SseOptions
{
    public const string Section = "Sse";

    /// <summary>Interval of the <c>: keep-alive</c> comment.</summary>
    [Range(0.05, 3_600)]
    public double KeepAliveSeconds { get; set; } = 15;

    /// <summary>
    /// A client whose packets stop arriving is dropped once data sent to it has gone unacknowledged
    /// this long: within <see cref="KeepAliveSeconds"/> plus this after it went silent.
    /// </summary>
    [Range(1, 3_600)]
    public double DeadClientSeconds { get; set; } = 30;

    /// <summary>The <c>retry:</c> sent to clients.</summary>
    [Range(0, 3_600_000)]
    public int RetryMilliseconds { get; set; } = 3000;

    /// <summary>
    /// Feed events queued for one connection that is not reading. Past this the connection is
    /// closed; the client reconnects with Last-Event-ID and gets the rest from the history.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxPendingEvents { get; set; } = 256;

    /// <summary>The same bound in bytes of feed events (the frames are shared by every connection they go to).</summary>
    [Range(1024, 1L << 32)]
    public long MaxPendingBytes { get; set; } = 1 << 20;

    internal PendingLimit PendingLimit => new(MaxPendingEvents, MaxPendingBytes);

    public TimeSpan KeepAlive => TimeSpan.FromSeconds(KeepAliveSeconds);
}
