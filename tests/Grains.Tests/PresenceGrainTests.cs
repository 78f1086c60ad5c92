using System.Diagnostics;
using Presence.Grains.Interfaces;

namespace Presence.Grains.Tests;

[Collection(nameof(DefaultCluster))]
public sealed class PresenceGrainTests(DefaultCluster fixture)
{
    private const string FrontEnd = "front-end-1";

    private static string NewRoom() => $"room-{Guid.NewGuid():N}";

    private Task<StreamProbe<PresenceChanged>> WatchAsync(string room) =>
        StreamProbe<PresenceChanged>.SubscribeAsync(fixture.Client, RoomStreams.ProviderName, RoomStreams.Presence(room));

    [Fact]
    public async Task Join_SecondConnection_CountRisesToTwo_LeaveDropsToOne()
    {
        var room = NewRoom();
        var grain = fixture.Client.GetGrain<IPresenceGrain>(room);
        await using var watcher = await WatchAsync(room);
        var (first, second) = (Members.New(), Members.New());

        var afterFirst = await grain.JoinAsync(FrontEnd, [first]);
        var afterSecond = await grain.JoinAsync(FrontEnd, [second]);

        Assert.Equal((1, 1), (afterFirst.Watching, afterFirst.Connections));
        Assert.Equal((2, 2), (afterSecond.Watching, afterSecond.Connections));
        Assert.True(afterSecond.Version > afterFirst.Version);
        await watcher.WaitForAsync(change => change.Connections == 2);

        await grain.LeaveAsync(first.ConnectionId);

        var afterLeave = await watcher.WaitForAsync(change => change.Connections == 1);
        Assert.Equal((room, 1), (afterLeave.Room, afterLeave.Watching));
        Assert.True(afterLeave.Version > afterSecond.Version);
    }

    [Fact]
    public async Task Join_SameViewerInTwoTabs_WatchingCountsOnce()
    {
        var room = NewRoom();
        var grain = fixture.Client.GetGrain<IPresenceGrain>(room);
        var (tab1, tab2, other) = (Members.New("alice"), Members.New("alice"), Members.New("bob"));

        await grain.JoinAsync(FrontEnd, [tab1]);
        await grain.JoinAsync(FrontEnd, [tab2]);
        var withBob = await grain.JoinAsync(FrontEnd, [other]);
        Assert.Equal((2, 3), (withBob.Watching, withBob.Connections));

        await grain.LeaveAsync(tab1.ConnectionId);
        var oneTabLeft = await grain.GetAsync();
        Assert.Equal((2, 2), (oneTabLeft.Watching, oneTabLeft.Connections));

        await grain.LeaveAsync(tab2.ConnectionId);
        var aliceGone = await grain.GetAsync();
        Assert.Equal((1, 1), (aliceGone.Watching, aliceGone.Connections));
    }

    [Fact]
    public async Task StreamSubscriber_ThatNeverJoined_IsNotCounted_AndReceivesCounts()
    {
        var room = NewRoom();
        var grain = fixture.Client.GetGrain<IPresenceGrain>(room);
        await using var dashboard = await WatchAsync(room);

        var empty = await grain.GetAsync();
        Assert.Equal((0, 0), (empty.Watching, empty.Connections));

        await grain.JoinAsync(FrontEnd, [Members.New()]);

        var received = await dashboard.WaitForAsync(change => change.Connections > 0);
        Assert.Equal((1, 1), (received.Watching, received.Connections));
    }

    [Fact]
    public async Task Leave_UnknownConnection_ChangesNothing()
    {
        var room = NewRoom();
        var grain = fixture.Client.GetGrain<IPresenceGrain>(room);
        var joined = await grain.JoinAsync(FrontEnd, [Members.New()]);

        await grain.LeaveAsync(Guid.NewGuid());

        Assert.Equal(joined, await grain.GetAsync());
    }

    [Fact]
    public async Task Renew_AfterLeave_DoesNotBringTheConnectionBack()
    {
        var room = NewRoom();
        var grain = fixture.Client.GetGrain<IPresenceGrain>(room);
        var (stays, leaves) = (Members.New(), Members.New());
        await grain.JoinAsync(FrontEnd, [stays]);
        await grain.JoinAsync(FrontEnd, [leaves]);

        // The front end built its renewal before the leave reached the grain.
        await grain.LeaveAsync(leaves.ConnectionId);
        var renewed = await grain.RenewEachAsync(FrontEnd, [stays, leaves]);

        Assert.Equal((1, 1), (renewed.Watching, renewed.Connections));
    }

    [Fact]
    public async Task JoinBurst_ThousandJoins_FewEvents_LastOneExact_VersionsIncrease()
    {
        const int joins = 1000;
        var room = NewRoom();
        var grain = fixture.Client.GetGrain<IPresenceGrain>(room);
        await using var watcher = await WatchAsync(room);

        var burst = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, joins).Select(_ => grain.JoinAsync(FrontEnd, [Members.New()])));
        var last = await watcher.WaitForAsync(change => change.Connections == joins);
        burst.Stop();

        Assert.Equal(joins, last.Watching);
        var events = watcher.Received;
        // At most one event per publish interval (plus the leading one) while the storm lasted.
        var allowed = (int)(burst.ElapsedMilliseconds / ClusterFixture.PublishIntervalMilliseconds) + 2;
        Assert.InRange(events.Count, 1, allowed);
        Assert.True(events.Count < 50, $"{events.Count} events for {joins} joins");
        Assert.All(events.Zip(events.Skip(1)), pair => Assert.True(pair.Second.Version > pair.First.Version));
        Assert.Equal(last, await grain.GetAsync());
    }

    [Fact]
    public async Task Reactivated_WhileFrontEndsRenew_PublishesNoFalseDrop()
    {
        var room = NewRoom();
        var grain = fixture.Client.GetGrain<IPresenceGrain>(room);
        var members = new[] { Members.New(), Members.New(), Members.New() };
        await using var watcher = await WatchAsync(room);
        foreach (var member in members)
        {
            await grain.JoinAsync(FrontEnd, [member]);
        }
        var before = await watcher.WaitForAsync(change => change.Connections == 3);

        await fixture.Cluster.DeactivateAsync(grain);
        // The new activation holds nothing: it refuses the front end's membership and gets the list.
        Assert.Null(await grain.RenewAsync(FrontEnd, Members.MembershipOf(members)));
        var duringRebuild = await grain.RenewEachAsync(FrontEnd, [members[0]]);

        Assert.Equal((3, 3), (duringRebuild.Watching, duringRebuild.Connections));
        Assert.True(duringRebuild.Version > before.Version);
        await grain.RenewEachAsync(FrontEnd, [.. members]);

        var republished = await watcher.WaitForAsync(change => change.Version > before.Version);
        Assert.Equal((3, 3), (republished.Watching, republished.Connections));
    }

    [Fact]
    public async Task Reactivated_JoinWhileRebuilding_CountsRiseAboveThePublishedOnes()
    {
        var room = NewRoom();
        var grain = fixture.Client.GetGrain<IPresenceGrain>(room);
        var members = new[] { Members.New(), Members.New() };
        await using var watcher = await WatchAsync(room);
        foreach (var member in members)
        {
            await grain.JoinAsync(FrontEnd, [member]);
        }
        await watcher.WaitForAsync(change => change.Connections == 2);

        await fixture.Cluster.DeactivateAsync(grain);
        var joinedDuringRebuild = await grain.JoinAsync("front-end-2", [Members.New()]);
        await grain.RenewEachAsync(FrontEnd, [.. members]);

        Assert.Equal((3, 3), (joinedDuringRebuild.Watching, joinedDuringRebuild.Connections));
        var rebuilt = await watcher.WaitForAsync(change => change.Version > joinedDuringRebuild.Version);
        Assert.Equal((3, 3), (rebuilt.Watching, rebuilt.Connections));
    }
}
