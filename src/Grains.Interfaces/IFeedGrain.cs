using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Presence.Grains.Interfaces;

/// <summary>An event published to a room. <see cref="Data"/> is compact JSON, UTF-8 encoded: the bytes an SSE frame carries.</summary>
[GenerateSerializer, Immutable, Alias("feed.event")]
public sealed record FeedEvent(
    [property: Id(0)] string Room,
    [property: Id(1)] long Id,
    [property: Id(2)] string Type,
    [property: Id(3)] ReadOnlyMemory<byte> Data)
{
    /// <summary>
    /// When the feed grain stored it (its silo's clock), for the publish-to-delivery latency; null
    /// for an event stored before this was recorded. A new id: a peer that does not know it skips it.
    /// </summary>
    [Id(4)]
    public DateTimeOffset? PublishedAt { get; init; }
}

/// <summary>Events a client asked for that the history no longer holds (inclusive range).</summary>
[GenerateSerializer, Immutable, Alias("feed.gap")]
public sealed record FeedGap([property: Id(0)] long From, [property: Id(1)] long To);

/// <summary>What a client that last saw an id has missed, and the room's newest id.</summary>
[GenerateSerializer, Immutable, Alias("feed.replay")]
public sealed record FeedReplay(
    [property: Id(0)] FeedGap? Gap,
    [property: Id(1)] ImmutableArray<FeedEvent> Events,
    [property: Id(2)] long LastId);

/// <summary>Numbers and keeps the events of a room. Key: the room name.</summary>
public interface IFeedGrain : IGrainWithStringKey
{
    /// <summary>Stores the event with the next id, then emits it on the room's feed stream.</summary>
    Task<FeedEvent> PublishAsync(string type, ReadOnlyMemory<byte> data);

    /// <summary>The events after <paramref name="lastEventId"/>; empty when it is ahead of the room.</summary>
    [ReadOnly]
    Task<FeedReplay> GetAfterAsync(long lastEventId);

    [ReadOnly]
    Task<long> GetLastIdAsync();
}
