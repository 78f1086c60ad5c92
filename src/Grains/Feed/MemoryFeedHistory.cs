using System.Collections.Concurrent;
using System.Collections.Immutable;
using Presence.Grains.Interfaces;

namespace Presence.Grains.Feed;

/// <summary>The embedded default: the history lives as long as the process.</summary>
public sealed class MemoryFeedHistory : IFeedHistory
{
    private readonly ConcurrentDictionary<string, RoomHistory> _rooms = new(StringComparer.Ordinal);

    public Task<long> GetLastIdAsync(string room) =>
        Task.FromResult(_rooms.TryGetValue(room, out var history) ? history.LastId : 0);

    public Task AppendAsync(FeedEvent feedEvent, int keep)
    {
        _rooms.GetOrAdd(feedEvent.Room, _ => new RoomHistory()).Append(feedEvent, keep);
        return Task.CompletedTask;
    }

    public Task<ImmutableArray<FeedEvent>> GetAfterAsync(string room, long afterId) =>
        Task.FromResult(_rooms.TryGetValue(room, out var history) ? history.After(afterId) : []);

    /// <summary>One room's newest events, oldest first.</summary>
    private sealed class RoomHistory
    {
        private readonly Lock _gate = new();
        private readonly Queue<FeedEvent> _events = new();

        public long LastId { get; private set; }

        public void Append(FeedEvent feedEvent, int keep)
        {
            lock (_gate)
            {
                if (feedEvent.Id <= LastId)
                {
                    throw new InvalidOperationException($"Room {feedEvent.Room} already has event {LastId}; {feedEvent.Id} is not after it.");
                }
                _events.Enqueue(feedEvent);
                LastId = feedEvent.Id;
                while (_events.Count > keep)
                {
                    _events.Dequeue();
                }
            }
        }

        public ImmutableArray<FeedEvent> After(long afterId)
        {
            lock (_gate)
            {
                return [.. _events.Where(kept => kept.Id > afterId)];
            }
        }
    }
}
