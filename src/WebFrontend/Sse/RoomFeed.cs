using System.Threading.Channels;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend.Sse;

/// <summary>
/// Delivers one room's feed events to this front end's connections in id order, each once: those
/// the stream brings, and those it lost (a hole in the ids, or a room whose last id is ahead), read
/// from the feed grain. Stream callbacks and renewals only queue work; one worker delivers, so a
/// slow read of the feed grain never holds up the client's other stream deliveries (Orleans hands a
/// client its stream items one at a time, for all rooms).
/// </summary>
internal sealed partial class RoomFeed(string room, IFeedGrain feed, Func<SseFrame, Task> postToAll, ILogger logger)
{
    private readonly Channel<(FeedEvent? Event, long Id)> _work =
        Channel.CreateUnbounded<(FeedEvent? Event, long Id)>(new UnboundedChannelOptions { SingleReader = true });
    private long _delivered;

    /// <summary>Starts delivering the events after <paramref name="lastId"/>, the room's last when this front end subscribed.</summary>
    public void Start(long lastId)
    {
        _delivered = lastId;
        _ = Task.Run(DeliverAsync);
    }

    public void Received(FeedEvent feedEvent) => _work.Writer.TryWrite((feedEvent, feedEvent.Id));

    /// <summary>Makes sure every event up to <paramref name="lastId"/> is delivered, reading those missing from the feed grain.</summary>
    public void CatchUpTo(long lastId) => _work.Writer.TryWrite((null, lastId));

    public void Stop() => _work.Writer.TryComplete();

    private async Task DeliverAsync()
    {
        await foreach (var (feedEvent, id) in _work.Reader.ReadAllAsync())
        {
            if (id <= _delivered)
            {
                continue; // delivered already: a copy from the stream, or a catch-up that is not needed
            }
            if (feedEvent is not null && id == _delivered + 1)
            {
                await postToAll(await SseFrame.FeedAsync(feedEvent));
                _delivered = id;
            }
            else
            {
                await CatchUpAsync(id);
            }
        }
    }

    private async Task CatchUpAsync(long expected)
    {
        FeedReplay missed;
        try
        {
            missed = await feed.GetAfterAsync(_delivered);
        }
        catch (Exception exception)
        {
            // Nothing after the hole is delivered meanwhile: the next event or renewal tries again.
            LogCatchUpFailed(exception, room, _delivered);
            return;
        }
        LogCatchingUp(room, _delivered, expected);
        if (missed.Gap is { } gap)
        {
            await postToAll(await SseFrame.GapAsync(gap));
            _delivered = gap.To;
        }
        foreach (var feedEvent in missed.Events)
        {
            await postToAll(await SseFrame.FeedAsync(feedEvent));
            _delivered = feedEvent.Id;
        }
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Room {Room}: feed events after {After} (up to {Expected} at least) did not come through the stream; reading them from the feed grain")]
    private partial void LogCatchingUp(string room, long after, long expected);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Room {Room}: reading the feed events after {After} failed; the next event or renewal tries again")]
    private partial void LogCatchUpFailed(Exception exception, string room, long after);
}
