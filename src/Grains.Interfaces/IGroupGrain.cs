using Orleans.Concurrency;

namespace Presence.Grains.Interfaces;

/// <summary>
/// The sums of a group: <see cref="Watching"/> and <see cref="Connections"/> added up over the
/// group's occupied rooms (a viewer in two of them counts twice), <see cref="Rooms"/> how many
/// those are. <see cref="Version"/> increases strictly with every change the group publishes.
/// </summary>
[GenerateSerializer, Immutable, Alias("group.changed")]
public sealed record GroupChanged(
    [property: Id(0)] string Group,
    [property: Id(1)] int Watching,
    [property: Id(2)] int Connections,
    [property: Id(3)] int Rooms,
    [property: Id(4)] long Version);

/// <summary>
/// What a room, or a group below, last published, as it reports it to its parent group.
/// <see cref="Version"/> is the reporter's: a report older than one already held is ignored.
/// </summary>
[GenerateSerializer, Immutable, Alias("group.part")]
public sealed record GroupPart(
    [property: Id(0)] string Name,
    [property: Id(1)] bool IsGroup,
    [property: Id(2)] int Watching,
    [property: Id(3)] int Connections,
    [property: Id(4)] int Rooms,
    [property: Id(5)] long Version);

/// <summary>
/// A group of rooms: the rooms and groups whose names continue its own with <c>:</c> report to it
/// (<c>a:b:c</c> to <c>a:b</c>, <c>a:b</c> to <c>a</c>). Key: the group name.
/// </summary>
public interface IGroupGrain : IGrainWithStringKey
{
    /// <summary>Records a part's counts; a part with nobody watching leaves the group.</summary>
    [OneWay]
    Task ReportAsync(GroupPart part);

    [ReadOnly]
    Task<GroupChanged> GetAsync();

    /// <summary>Reports the group's sums to its parent again, at once: asked by a parent that was reactivated.</summary>
    [OneWay]
    Task ReportAgainAsync();
}
