using System.Collections.Immutable;
using Presence.Grains.Interfaces;

namespace Presence.Grains.Feed;

/// <summary>
/// Where the rooms' feed events are kept for replay: appended one at a time (the cost of a publish
/// never depends on what is already kept) and read from an id on.
/// </summary>
public interface IFeedHistory
{
    /// <summary>The id of the newest event the room ever had; 0 for none.</summary>
    Task<long> GetLastIdAsync(string room);

    /// <summary>
    /// Appends the event and keeps only the newest <paramref name="keep"/> of the room. Fails, and
    /// appends nothing, unless its id is above every id the room had.
    /// </summary>
    Task AppendAsync(FeedEvent feedEvent, int keep);

    /// <summary>The kept events with ids above <paramref name="afterId"/>, oldest first.</summary>
    Task<ImmutableArray<FeedEvent>> GetAfterAsync(string room, long afterId);
}
