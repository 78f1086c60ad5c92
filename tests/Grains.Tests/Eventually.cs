using System.Diagnostics;

namespace Presence.Grains.Tests;

/// <summary>Reads that wait for what a one-way call or a timer's tick, still on its way into a grain, will bring.</summary>
internal static class Eventually
{
    /// <summary>What <paramref name="read"/> answers once it is <paramref name="done"/>, or after 5 s.</summary>
    public static async Task<T> OnceAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var waited = Stopwatch.StartNew();
        var value = await read();
        while (!done(value) && waited.Elapsed < TimeSpan.FromSeconds(5))
        {
            value = await read();
        }
        return value;
    }
}
