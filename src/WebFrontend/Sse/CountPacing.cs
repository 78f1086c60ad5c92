using System.Threading.RateLimiting;

namespace Presence.WebFrontend.Sse;

/// <summary>
/// How many count frames (presence, group sums) this front end writes a second over all its rooms
/// and groups, at most: a token bucket of <see cref="WritesPerSecond"/>, one token per connection a
/// pass over a room's connections reached. While that is more than enough, and it is by far with
/// rooms of ordinary sizes, every count goes out at once. A join storm into big rooms asks for more
/// (each room's counts up to four times a second to each of its connections): then each room's
/// next pass waits for its turn, the counts that come meanwhile collapse to the newest, and the
/// cores stay free for admitting the connections instead of writing counts that are stale at once.
/// </summary>
internal sealed class CountPacing : IDisposable
{
    /// <summary>About a seventh of what a core writes a second at most (some 37,000 small frames, measured).</summary>
    public static readonly int WritesPerSecond = 5_000 * Environment.ProcessorCount;

    private readonly TokenBucketRateLimiter _bucket = new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = WritesPerSecond,
        TokensPerPeriod = WritesPerSecond / 10,
        ReplenishmentPeriod = TimeSpan.FromMilliseconds(100),
        QueueLimit = int.MaxValue,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    /// <summary>Takes the tokens of a pass that wrote to <paramref name="writes"/> connections, waiting until there are enough.</summary>
    public async Task PayAsync(int writes)
    {
        using var _ = await _bucket.AcquireAsync(Math.Min(writes, WritesPerSecond));
    }

    public void Dispose() => _bucket.Dispose();
}
