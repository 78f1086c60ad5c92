using System.Collections.Immutable;
using Microsoft.Extensions.Options;
using Orleans.Streams;
using Presence.Grains.Interfaces;

namespace Presence.Grains;

[GenerateSerializer, Alias("feed.state")]
public sealed class FeedState
{
    /// <summary>The id of the last event ever published; ids are never reused.</summary>
    [Id(0)] public long LastId { get; set; }

    /// <summary>The newest events, oldest first.</summary>
    [Id(1)] public List<FeedEvent> History { get; set; } = [];
}

/// <summary>Numbers a room's events, keeps the newest of them for replay and emits them on the feed stream.</summary>
public sealed class FeedGrain(
    [PersistentState("feed", Storage.Rooms)] IPersistentState<FeedState> state,
    IOptions<FeedOptions> options) : Grain, IFeedGrain
{
    private IAsyncStream<FeedEvent> _stream = null!;

    private string Room => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _stream = this.GetStreamProvider(RoomStreams.ProviderName).GetStream<FeedEvent>(RoomStreams.Feed(Room));
        return Task.CompletedTask;
    }

    public async Task<FeedEvent> PublishAsync(string type, string data)
    {
        var feed = state.State;
        var published = new FeedEvent(Room, feed.LastId + 1, type, data);
        feed.LastId = published.Id;
        feed.History.Add(published);
        var excess = feed.History.Count - options.Value.HistorySize;
        if (excess > 0)
        {
            feed.History.RemoveRange(0, excess);
        }

        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // The in-memory state is ahead of storage: start again from what storage holds.
            DeactivateOnIdle();
            throw;
        }
        await _stream.OnNextAsync(published);
        return published;
    }

    public Task<FeedReplay> GetAfterAsync(long lastEventId)
    {
        var (history, lastId) = (state.State.History, state.State.LastId);
        if (lastEventId >= lastId || history.Count == 0)
        {
            return Task.FromResult(new FeedReplay(null, [], lastId));
        }

        var oldest = history[0].Id;
        var gap = lastEventId + 1 < oldest ? new FeedGap(lastEventId + 1, oldest - 1) : null;
        var skip = (int)Math.Max(0, lastEventId - oldest + 1);
        return Task.FromResult(new FeedReplay(gap, [.. history.Skip(skip)], lastId));
    }

    public Task<long> GetLastIdAsync() => Task.FromResult(state.State.LastId);
}
