using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Text.Json;

namespace Presence.Bench;

internal static class Load
{
    public static void RequireLoopback(Uri server)
    {
        if (!IPAddress.IsLoopback(IPAddress.Parse(server.Host)))
        {
            throw new ArgumentException($"load goes to loopback addresses only, not {server.Host}");
        }
    }

    public static Task<Watcher[]> OpenManyAsync(
        SseClients clients, int count, Func<int, string> path, Action<SseItem<string>, long>? onEvent = null, int parallel = 200) =>
        OpenManyAsync(count, (i, cancellationToken) => clients.OpenAsync(path(i), onEvent, cancellationToken), parallel);

    /// <summary>Opens stream 0 to <paramref name="count"/> - 1, <paramref name="parallel"/> at a time.</summary>
    public static async Task<T[]> OpenManyAsync<T>(int count, Func<int, CancellationToken, Task<T>> open, int parallel = 200)
    {
        var streams = new T[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = parallel },
            async (i, cancellationToken) => streams[i] = await open(i, cancellationToken));
        return streams;
    }

    public static async Task CloseAllAsync(IEnumerable<IAsyncDisposable> streams) =>
        await Parallel.ForEachAsync(streams, new ParallelOptions { MaxDegreeOfParallelism = 200 },
            async (stream, _) => await stream.DisposeAsync());

    /// <summary>Waits until the server's snapshot of each room reports the expected connections.</summary>
    public static async Task<double> WaitForCountsAsync(HttpClient client, IEnumerable<string> rooms, Func<string, int> expected, TimeSpan timeout)
    {
        var started = Stopwatch.StartNew();
        foreach (var room in rooms)
        {
            while (await ConnectionsAsync(client, room) != expected(room))
            {
                if (started.Elapsed > timeout)
                {
                    throw new TimeoutException($"room {room} did not reach {expected(room)} connections in {timeout}");
                }
                await Task.Delay(20); // polling the server's JSON snapshot
            }
        }
        return started.Elapsed.TotalMilliseconds;
    }

    public static async Task<int> ConnectionsAsync(HttpClient client, string room) =>
        (await client.GetFromJsonAsync<JsonElement>($"/rooms/{room}")).GetProperty("connections").GetInt32();

    public static int PresenceConnections(string data) =>
        JsonDocument.Parse(data).RootElement.GetProperty("connections").GetInt32();

    public static double Milliseconds(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    public static double Percentile(IReadOnlyList<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Count) - 1, 0, sorted.Count - 1)];

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToList();
        return sorted.Count == 0 ? double.NaN
            : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2]
            : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    public static void InterlockedMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }
            current = seen;
        }
    }
}
