using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Presence.Grains.Interfaces;

[GenerateSerializer, Immutable, Alias("rooms.watching")]
public sealed record RoomWatching([property: Id(0)] string Room, [property: Id(1)] int Watching);

/// <summary>The occupied rooms and their viewer counts, as presence grains report them. Key: 0.</summary>
public interface IRoomDirectoryGrain : IGrainWithIntegerKey
{
    /// <summary>Records a room's count; a count of 0 removes the room.</summary>
    [OneWay]
    Task ReportAsync(RoomWatching room);

    /// <summary>The busiest rooms, most watched first, leaving out those whose name starts with one of <paramref name="hiddenPrefixes"/> (private rooms).</summary>
    [ReadOnly]
    Task<ImmutableArray<RoomWatching>> GetTopAsync(int count, ImmutableArray<string> hiddenPrefixes);
}
