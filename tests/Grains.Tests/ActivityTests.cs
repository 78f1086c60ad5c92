using Presence.Grains.Interfaces;

namespace Presence.Grains.Tests;

/// <summary>Idle viewers: the connections' activity reports, through the presence grain and the connection grain.</summary>
[Collection(nameof(DefaultCluster))]
public sealed class ActivityTests(DefaultCluster fixture)
{
    private const string FrontEnd = "front-end-1";

    private static string NewRoom() => $"room-{Guid.NewGuid():N}";

    private Task<StreamProbe<PresenceChanged>> WatchAsync(string room) =>
        StreamProbe<PresenceChanged>.SubscribeAsync(fixture.Client, RoomStreams.ProviderName, RoomStreams.Presence(room));

    [Fact]
    public async Task OneViewerTwoConnections_IsIdleOnlyWhenBothAre()
    {
        var grain = fixture.Client.GetGrain<IPresenceGrain>(NewRoom());
        var (tab1, tab2, bob) = (Members.New("alice"), Members.New("alice"), Members.New("bob"));
        var joined = await grain.JoinAsync(FrontEnd, [tab1, tab2, bob]);

        await grain.ReportActivityAsync(tab1.ConnectionId, idle: true);
        var oneTabIdle = await grain.GetAsync();
        await grain.ReportActivityAsync(tab2.ConnectionId, idle: true);
        var bothIdle = await grain.GetAsync();
        await grain.ReportActivityAsync(tab1.ConnectionId, idle: false);
        var oneTabBack = await grain.GetAsync();

        Assert.Equal((2, 3, 0), (joined.Watching, joined.Connections, joined.Idle));
        Assert.Equal(0, oneTabIdle.Idle);
        Assert.Equal(joined.Version, oneTabIdle.Version); // nothing any count shows changed
        Assert.Equal((2, 3, 1), (bothIdle.Watching, bothIdle.Connections, bothIdle.Idle));
        Assert.True(bothIdle.Version > joined.Version);
        Assert.Equal(0, oneTabBack.Idle);
        Assert.True(oneTabBack.Version > bothIdle.Version);
    }

    [Fact]
    public async Task SameReportTwice_ChangesNothing()
    {
        var grain = fixture.Client.GetGrain<IPresenceGrain>(NewRoom());
        var alice = Members.New("alice");
        await grain.JoinAsync(FrontEnd, [alice]);

        await grain.ReportActivityAsync(alice.ConnectionId, idle: true);
        var idle = await grain.GetAsync();
        await grain.ReportActivityAsync(alice.ConnectionId, idle: true);
        await grain.ReportActivityAsync(Guid.NewGuid(), idle: true); // not in the room

        Assert.Equal(1, idle.Idle);
        Assert.Equal(idle, await grain.GetAsync());
    }

    [Fact]
    public async Task Leave_OfAnIdleConnection_LeavesIdle_OfTheActiveOne_LeavesTheViewerIdle()
    {
        var grain = fixture.Client.GetGrain<IPresenceGrain>(NewRoom());
        var (bob, aliceHidden, aliceShown) = (Members.New("bob"), Members.New("alice"), Members.New("alice"));
        await grain.JoinAsync(FrontEnd, [bob, aliceHidden, aliceShown]);
        await grain.ReportActivityAsync(bob.ConnectionId, idle: true);
        await grain.ReportActivityAsync(aliceHidden.ConnectionId, idle: true);
        var before = await grain.GetAsync();

        await grain.LeaveAsync(bob.ConnectionId);
        var bobGone = await grain.GetAsync();
        await grain.LeaveAsync(aliceShown.ConnectionId);
        var onlyHiddenLeft = await grain.GetAsync();
        await grain.LeaveAsync(aliceHidden.ConnectionId);

        Assert.Equal((2, 1), (before.Watching, before.Idle));
        Assert.Equal((1, 0), (bobGone.Watching, bobGone.Idle));
        Assert.Equal((1, 1), (onlyHiddenLeft.Watching, onlyHiddenLeft.Idle));
        Assert.Equal((0, 0, 0), await CountsAsync(grain));
    }

    [Fact]
    public async Task IdleFlags_SurviveRenewals_ByMembershipAndByList()
    {
        var grain = fixture.Client.GetGrain<IPresenceGrain>(NewRoom());
        var (alice, bob) = (Members.New("alice"), Members.New("bob"));
        await grain.JoinAsync(FrontEnd, [alice, bob]);
        await grain.ReportActivityAsync(alice.ConnectionId, idle: true);

        var byMembership = await grain.RenewAsync(FrontEnd, Members.MembershipOf(alice, bob));
        var byList = await grain.RenewEachAsync(FrontEnd, [alice, bob]);

        Assert.Equal(1, byMembership!.Idle);
        Assert.Equal(1, byList.Idle);
    }

    [Fact]
    public async Task Reactivated_IdleFlagsAreLost_ConnectionsCountAsActiveUntilReportedAgain()
    {
        var grain = fixture.Client.GetGrain<IPresenceGrain>(NewRoom());
        var alice = Members.New("alice");
        await grain.JoinAsync(FrontEnd, [alice]);
        await grain.ReportActivityAsync(alice.ConnectionId, idle: true);

        await fixture.Cluster.DeactivateAsync(grain);
        var rebuilt = await grain.RenewEachAsync(FrontEnd, [alice]);
        await grain.ReportActivityAsync(alice.ConnectionId, idle: true);

        Assert.Equal((1, 1, 0), (rebuilt.Watching, rebuilt.Connections, rebuilt.Idle));
        Assert.Equal((1, 1, 1), await CountsAsync(grain));
    }

    [Fact]
    public async Task ToggleStorm_IsCoalesced_LastEventExact_VersionsIncrease()
    {
        const int viewers = 200;
        var room = NewRoom();
        var grain = fixture.Client.GetGrain<IPresenceGrain>(room);
        var members = Enumerable.Range(0, viewers).Select(i => Members.New($"viewer-{i}")).ToArray();
        await grain.JoinAsync(FrontEnd, [.. members]);
        await using var watcher = await WatchAsync(room);

        // Every viewer hides and shows its page five times, and the even ones end hidden.
        await Task.WhenAll(members.Select(async (member, i) =>
        {
            for (var round = 0; round < 5; round++)
            {
                await grain.ReportActivityAsync(member.ConnectionId, idle: true);
                await grain.ReportActivityAsync(member.ConnectionId, idle: false);
            }
            await grain.ReportActivityAsync(member.ConnectionId, idle: i % 2 == 0);
        }));
        var final = await grain.GetAsync();
        var last = await watcher.WaitForAsync(change => change.Version >= final.Version);

        Assert.Equal(viewers / 2, final.Idle);
        Assert.Equal(final, last);
        var events = watcher.Received;
        Assert.True(events.Count < 50, $"{events.Count} events for {viewers * 11} reports");
        Assert.All(events.Zip(events.Skip(1)), pair => Assert.True(pair.Second.Version > pair.First.Version));
    }

    [Fact]
    public async Task ConnectionGrain_PassesOnReportsWithItsToken_RefusesOthers_ForgetsOnClose()
    {
        var room = NewRoom();
        var grain = fixture.Client.GetGrain<IPresenceGrain>(room);
        var alice = Members.New("alice");
        await grain.JoinAsync(FrontEnd, [alice]);
        var connection = fixture.Client.GetGrain<IConnectionGrain>(alice.ConnectionId);
        await connection.RecordAsync(new ConnectionIdentity(room, "alice", FrontEnd, DateTimeOffset.UtcNow), "the-token");

        var wrong = await connection.ReportActivityAsync("the-tokem", idle: true);
        var afterWrong = await grain.GetAsync();
        var applied = await connection.ReportActivityAsync("the-token", idle: true);
        var afterApplied = await grain.GetAsync();
        await connection.ForgetAsync();
        var afterClose = await connection.ReportActivityAsync("the-token", idle: false);

        Assert.Equal(ActivityOutcome.WrongToken, wrong);
        Assert.Equal(0, afterWrong.Idle);
        Assert.Equal(ActivityOutcome.Applied, applied);
        Assert.Equal(1, afterApplied.Idle);
        Assert.Equal(ActivityOutcome.UnknownConnection, afterClose);
        Assert.Equal(ActivityOutcome.UnknownConnection, await fixture.Client.GetGrain<IConnectionGrain>(Guid.NewGuid()).ReportActivityAsync("x", idle: true));
    }

    [Fact]
    public async Task ConnectionGrain_OpenedWithoutActivity_RefusesEveryToken()
    {
        var connection = fixture.Client.GetGrain<IConnectionGrain>(Guid.NewGuid());
        await connection.RecordAsync(new ConnectionIdentity(NewRoom(), "alice", FrontEnd, DateTimeOffset.UtcNow), activityToken: null);

        Assert.Equal(ActivityOutcome.WrongToken, await connection.ReportActivityAsync("", idle: true));
        await connection.ForgetAsync();
    }

    private static async Task<(int Watching, int Connections, int Idle)> CountsAsync(IPresenceGrain grain)
    {
        var counts = await grain.GetAsync();
        return (counts.Watching, counts.Connections, counts.Idle);
    }
}
