using Presence.Grains.Interfaces;

namespace Presence.Grains.Tests;

/// <summary>
/// A group forgets a part that stops reporting (its silo died with its last report) after three
/// report periods, on the grains' fake clock (leases of 30 s: a report period of 30 s).
/// </summary>
[Collection(nameof(FakeClockCluster))]
public sealed class GroupSilenceTests(FakeClockCluster fixture)
{
    private static readonly TimeSpan ReportPeriod = TimeSpan.FromSeconds(30);

    private static (int Watching, int Connections, int Rooms) Sums(GroupChanged group) => (group.Watching, group.Connections, group.Rooms);

    /// <summary>
    /// What the group shows once its sums are <paramref name="expected"/> (a one-way report, or the
    /// publish that stores a change before it is shown, may still be on its way), or after 5 s.
    /// </summary>
    private static Task<GroupChanged> ShownOnceAsync(IGroupGrain group, (int, int, int) expected) =>
        Eventually.OnceAsync(group.GetAsync, shown => Sums(shown) == expected);

    [Fact]
    public async Task Group_ReactivatedLongAfterItsSumsLastChanged_KeepsTheParts_ForgetsThemOnlyIfTheyFallSilent()
    {
        var name = $"group-{Guid.NewGuid():N}";
        var group = fixture.Client.GetGrain<IGroupGrain>(name);
        // A part that falls silent: the test reports it, and the room of that name, asked by the
        // reactivated group to report again, reports to its own group (its name is not under this one).
        GroupPart Room(long version) => new($"{name}-elsewhere:r", IsGroup: false, Watching: 3, Connections: 3, Rooms: 1, version);

        await group.ReportAsync(Room(1));
        Assert.Equal((3, 3, 1), Sums(await ShownOnceAsync(group, (3, 3, 1))));
        await fixture.AdvanceAsync(TimeSpan.FromSeconds(1)); // published, and stored
        await fixture.AdvanceAsync(2 * ReportPeriod);
        await group.ReportAsync(Room(2)); // the same counts again: nothing to publish or store
        await group.GetAsync(); // lets the report in before the clock moves on
        await fixture.AdvanceAsync(2 * ReportPeriod); // the stored report is four periods old, the last one two

        await fixture.Cluster.DeactivateAsync(group); // as when its silo dies
        var reactivated = await group.GetAsync();
        foreach (var step in new[] { ReportPeriod, ReportPeriod, ReportPeriod - TimeSpan.FromSeconds(1) })
        {
            // One period at a time: the group's timer sets its next tick once a tick has run, which
            // the grain does before it answers the call that follows.
            await fixture.AdvanceAsync(step);
            await group.GetAsync();
        }
        var stillReported = await group.GetAsync();
        var lastSecond = Groups.ClockVersion(fixture.Time);
        await fixture.AdvanceAsync(TimeSpan.FromSeconds(1));
        var silentForThreePeriods = await ShownOnceAsync(group, (0, 0, 0));

        Assert.Equal((3, 3, 1), Sums(reactivated));
        Assert.Equal((3, 3, 1), Sums(stillReported));
        Assert.Equal((0, 0, 0), Sums(silentForThreePeriods));
        // Its version is the time of the change: the part was dropped in the last second, not before.
        Assert.True(silentForThreePeriods.Version > lastSecond, $"dropped at version {silentForThreePeriods.Version}, before {lastSecond}");
    }
}
