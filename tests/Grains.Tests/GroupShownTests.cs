using System.Diagnostics;
using Presence.Grains.Interfaces;

namespace Presence.Grains.Tests;

/// <summary>
/// A group shows only sums it has stored, on the grains' fake clock: the publish that stores a
/// change coalesced into the publish interval waits for the clock, as it did in the cluster tests
/// when the group's silo died before the end of the interval.
/// </summary>
[Collection(nameof(FakeClockCluster))]
public sealed class GroupShownTests(FakeClockCluster fixture)
{
    [Fact]
    public async Task Group_ReactivatedBeforeStoringItsNewestSums_ShowsNothingBelowWhatItShowedBefore()
    {
        var name = $"group-{Guid.NewGuid():N}";
        var group = fixture.Client.GetGrain<IGroupGrain>(name);
        // Reported by the test: the room of that name, asked by the reactivated group to report
        // again, reports to its own group (its name is not under this one).
        GroupPart Room(int connections, long version) => new($"{name}-elsewhere:r", IsGroup: false, connections, connections, Rooms: 1, version);

        await group.ReportAsync(Room(1, version: 1)); // the group is quiet: published, and stored, at once
        var waited = Stopwatch.StartNew();
        while ((await fixture.ReadStoredAsync(group)).State?.Parts.Count is null or 0)
        {
            Assert.True(waited.Elapsed < TimeSpan.FromSeconds(5), "the first report was not stored");
        }
        await group.ReportAsync(Room(2, version: 2)); // within the publish interval: stored at its end
        // Reads overtake a one-way report now and then: a few of them, to be sure to read after it.
        var shown = new List<GroupChanged>();
        for (var read = 0; read < 20; read++)
        {
            shown.Add(await group.GetAsync());
        }

        await fixture.Cluster.DeactivateAsync(group); // its silo dies before the end of the interval
        var reactivated = await group.GetAsync();

        Assert.Equal((1, 1, 1), (reactivated.Watching, reactivated.Connections, reactivated.Rooms));
        var most = shown.MaxBy(sums => sums.Connections)!;
        Assert.True(most.Connections <= reactivated.Connections, $"shown {most} before, {reactivated} after");
    }
}
