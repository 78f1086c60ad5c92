using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Feed;

namespace Presence.WebFrontend.Tests;

/// <summary>
/// The publish key check must not tell an attacker how much of a guess was right. With a key as
/// long as a header can carry, a comparison that stops at the first differing character answers a
/// guess wrong only in its last character about a thousand times later than one wrong in its first;
/// the same measurement is run on such a comparison to show that it sees the difference here.
/// </summary>
public sealed class PublishKeyTests
{
    private static readonly string Key = RandomNumberGenerator.GetHexString(16 * 1024);
    private static readonly string WrongFirst = "x" + Key[1..];
    private static readonly string WrongLast = Key[..^1] + "x";

    [Fact]
    public void KeyCheck_TakesAsLong_HoweverMuchOfTheGuessIsRight()
    {
        var keys = new PublishKeys(Options.Create(new FeedOptions { PublishKeys = ["another key", Key] }), NullLogger<PublishKeys>.Instance);
        Assert.True(keys.IsPublishKey(Key));
        Assert.False(keys.IsPublishKey(WrongLast));
        Assert.False(keys.IsPublishKey(WrongFirst));

        var earlyExit = MedianRatio(() => string.Equals(Key, WrongLast, StringComparison.Ordinal), () => string.Equals(Key, WrongFirst, StringComparison.Ordinal));
        var keyCheck = MedianRatio(() => keys.IsPublishKey(WrongLast), () => keys.IsPublishKey(WrongFirst));

        Assert.True(earlyExit > 5, $"the measurement cannot see an early exit on this machine ({earlyExit:F2}x)");
        Assert.InRange(keyCheck, 0.67, 1.5);
    }

    /// <summary>
    /// How much longer <paramref name="slow"/> takes than <paramref name="fast"/>: the median over
    /// rounds in which both run, one right after the other, so that a busy machine slows both alike.
    /// </summary>
    private static double MedianRatio(Func<bool> slow, Func<bool> fast)
    {
        const int rounds = 201, calls = 20;
        double Time(Func<bool> check)
        {
            var started = Stopwatch.GetTimestamp();
            for (var i = 0; i < calls; i++)
            {
                check();
            }
            return Stopwatch.GetElapsedTime(started).Ticks;
        }

        Time(slow);
        Time(fast);
        var ratios = Enumerable.Range(0, rounds).Select(_ => Time(slow) / Math.Max(Time(fast), 1)).Order().ToList();
        return ratios[rounds / 2];
    }
}
