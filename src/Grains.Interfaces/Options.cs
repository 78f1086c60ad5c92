using System.ComponentModel.DataAnnotations;

namespace Presence.Grains.Interfaces;

/// <summary>Leases and count publishing (section <c>Presence</c>). Grains and front ends share it.</summary>
public sealed class PresenceOptions
{
    public const string Section = "Presence";

    /// <summary>A connection not renewed for this long is removed.</summary>
    [Range(0.1, 86_400)]
    public double LeaseSeconds { get; set; } = 30;

    /// <summary>Coalescing window for count events per room.</summary>
    [Range(0, 60_000)]
    public int PublishIntervalMilliseconds { get; set; } = 250;

    /// <summary>
    /// A viewer with a viewer id of its own stays counted in <c>watching</c> this long after its last
    /// connection in a room left (or lapsed), so that a reload does not dip the count. 0: off.
    /// </summary>
    [Range(0, 3_600)]
    public double DepartureGraceSeconds { get; set; } = 3;

    public TimeSpan Lease => TimeSpan.FromSeconds(LeaseSeconds);

    /// <summary>How often front ends renew their connections' leases: three chances per lease.</summary>
    public TimeSpan RenewalPeriod => Lease / 3;

    /// <summary>How often a room looks for lapsed leases.</summary>
    public TimeSpan SweepPeriod => Lease / 10;

    public TimeSpan PublishInterval => TimeSpan.FromMilliseconds(PublishIntervalMilliseconds);

    public TimeSpan DepartureGrace => TimeSpan.FromSeconds(DepartureGraceSeconds);
}

/// <summary>The room event feed (section <c>Feed</c>).</summary>
public sealed class FeedOptions
{
    public const string Section = "Feed";

    /// <summary>Events kept per room for replay.</summary>
    [Range(1, 100_000)]
    public int HistorySize { get; set; } = 500;

    /// <summary>Bearer keys allowed to publish. None: the front end generates one at start.</summary>
    public string[] PublishKeys { get; set; } = [];
}

/// <summary>
/// Which rooms and groups are private (section <c>Subscribe</c>, beside the front end's token
/// settings): those whose name starts with one of the prefixes. Silos read it too: a private room
/// reports only to groups that are private themselves.
/// </summary>
public sealed class PrivateRoomsOptions
{
    public const string Section = "Subscribe";

    /// <summary>Rooms (and groups) whose name starts with one of these need a subscribe token; <c>private:</c> when none is configured.</summary>
    public string[]? PrivatePrefixes { get; set; }

    public IReadOnlyList<string> Prefixes => PrivatePrefixes ?? DefaultPrefixes;

    public bool IsPrivate(string name) => Prefixes.Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal));

    private static readonly string[] DefaultPrefixes = ["private:"];
}
