using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Streams;
using Presence.Grains.Interfaces;

namespace Presence.Grains.Feed;

/// <summary>
/// Numbers a room's events, appends each to the room's <see cref="IFeedHistory"/> and emits it on
/// the feed stream. An event is acknowledged once it is in the history: if the stream then loses it,
/// front ends notice the hole in the ids and read it from here.
/// </summary>
public sealed partial class FeedGrain(
    IFeedHistory history,
    IOptions<FeedOptions> options,
    TimeProvider time,
    ILogger<FeedGrain> logger) : Grain, IFeedGrain
{
    private static readonly TimeSpan StreamPublishTimeout = TimeSpan.FromSeconds(2);

    private IAsyncStream<FeedEvent> _stream = null!;
    private long _lastId;

    private string Room => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _stream = this.GetStreamProvider(RoomStreams.ProviderName).GetStream<FeedEvent>(RoomStreams.Feed(Room));
        _lastId = await history.GetLastIdAsync(Room);
    }

    public async Task<FeedEvent> PublishAsync(string type, ReadOnlyMemory<byte> data)
    {
        var published = new FeedEvent(Room, _lastId + 1, type, data) { PublishedAt = time.GetUtcNow() };
        try
        {
            await history.AppendAsync(published, options.Value.HistorySize);
        }
        catch
        {
            // Whether it was appended is unknown (a timeout): read the last id again on reactivation.
            DeactivateOnIdle();
            throw;
        }
        _lastId = published.Id;

        try
        {
            // Bounded: the event is acknowledged by the history, and a stream queue on a silo that
            // hangs must not hold up the room's publishes (front ends catch up on a lost event).
            await _stream.OnNextAsync(published).WaitAsync(StreamPublishTimeout);
        }
        catch (Exception exception)
        {
            LogStreamFailed(exception, Room, published.Id);
        }
        return published;
    }

    public async Task<FeedReplay> GetAfterAsync(long lastEventId)
    {
        if (lastEventId >= _lastId)
        {
            return new FeedReplay(null, [], _lastId);
        }
        var events = await history.GetAfterAsync(Room, lastEventId);
        var oldestKept = events.IsEmpty ? _lastId + 1 : events[0].Id;
        var gap = lastEventId + 1 < oldestKept ? new FeedGap(lastEventId + 1, oldestKept - 1) : null;
        return new FeedReplay(gap, events, _lastId);
    }

    public Task<long> GetLastIdAsync() => Task.FromResult(_lastId);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Room {Room}: event {Id} is stored but its stream delivery failed; front ends will read it from the history")]
    private partial void LogStreamFailed(Exception exception, string room, long id);
}
