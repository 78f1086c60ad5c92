using System.Runtime.CompilerServices;
using System.Text.Json;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Subscribe;

namespace Presence.WebFrontend.Rooms;

/// <summary>
/// The busiest rooms, live: one poller per list length on this front end, asking the room directory
/// once a <see cref="Period"/> while anyone watches that list, however many do. Watchers get the
/// list at once, then each change (as JSON), so at most one a period.
/// </summary>
internal sealed partial class TopRoomsFeed(IGrainFactory grains, PrivateRooms privateRooms, TimeProvider time, ILogger<TopRoomsFeed> logger)
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly Dictionary<int, TopList> _lists = [];

    public async IAsyncEnumerable<string> WatchAsync(int top, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        TopList list;
        lock (_gate)
        {
            if (!_lists.TryGetValue(top, out list!))
            {
                _lists[top] = list = new TopList();
                _ = PollAsync(top, list);
            }
            list.Watchers++;
        }
        try
        {
            string? sent = null;
            while (true)
            {
                var (json, changed) = list.Latest;
                if (json is not null && json != sent)
                {
                    yield return sent = json;
                }
                await changed.WaitAsync(cancellationToken);
            }
        }
        finally
        {
            lock (_gate)
            {
                if (--list.Watchers == 0)
                {
                    _lists.Remove(top);
                    list.Stop();
                }
            }
        }
    }

    private async Task PollAsync(int top, TopList list)
    {
        var directory = grains.GetGrain<IRoomDirectoryGrain>(0);
        do
        {
            try
            {
                list.Publish(JsonSerializer.Serialize(await directory.GetTopAsync(top, privateRooms.Prefixes), JsonSerializerOptions.Web));
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogPollFailed(exception, top); // the next period tries again; watchers keep the last list
            }
        }
        while (await list.WaitAsync(Period, time));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the top {Top} rooms failed")]
    private partial void LogPollFailed(Exception exception, int top);

    /// <summary>One list length's latest JSON, and a task that completes when it changes.</summary>
    private sealed class TopList
    {
        private readonly CancellationTokenSource _stop = new();
        private Version _latest = new(null);

        public int Watchers { get; set; }

        public (string? Json, Task Changed) Latest
        {
            get
            {
                var latest = Volatile.Read(ref _latest);
                return (latest.Json, latest.Changed.Task);
            }
        }

        /// <summary>By the poller only.</summary>
        public void Publish(string json)
        {
            var previous = _latest;
            if (json != previous.Json)
            {
                Volatile.Write(ref _latest, new Version(json));
                previous.Changed.SetResult();
            }
        }

        /// <summary>Waits a period; false once the last watcher has gone.</summary>
        public async Task<bool> WaitAsync(TimeSpan period, TimeProvider time)
        {
            await Task.Delay(period, time, _stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            return !_stop.IsCancellationRequested;
        }

        public void Stop() => _stop.Cancel();

        private sealed record Version(string? Json)
        {
            public TaskCompletionSource Changed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }
}
