using Presence.Grains.Interfaces;

namespace Presence.Grains.Tests;

/// <summary>
/// The departure grace (3 s) on the grains' fake clock: no grain timer fires until a test moves it,
/// so the tests say exactly how much time passes and read the room's counts from the grain. (The
/// memory streams' agents run on that clock too, so these tests read snapshots, not the stream; the
/// web tests watch the stream on real time.)
/// </summary>
[Collection(nameof(FakeClockCluster))]
public sealed class GraceTests(FakeClockCluster fixture)
{
    private const string FrontEnd = "front-end-1";
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(FakeClockCluster.GraceSeconds);

    private IPresenceGrain NewRoom() => fixture.Client.GetGrain<IPresenceGrain>($"room-{Guid.NewGuid():N}");

    private static (int Watching, int Connections) Counts(PresenceChanged snapshot) => (snapshot.Watching, snapshot.Connections);

    private static async Task<(int Watching, int Connections)> CountsAsync(IPresenceGrain grain) => Counts(await grain.GetAsync());

    /// <summary>The room once a move of the clock has reached the grain (its timer's tick may still be on its way).</summary>
    private static Task<PresenceChanged> ShownOnceAsync(IPresenceGrain grain, (int, int) expected) =>
        Eventually.OnceAsync(grain.GetAsync, snapshot => Counts(snapshot) == expected);

    [Fact]
    public async Task Reload_WithinTheGrace_WatchingNeverDips_ConnectionsDoes()
    {
        var grain = NewRoom();
        var (page, reloaded) = (Members.New("alice"), Members.New("alice"));
        var joined = await grain.JoinAsync(FrontEnd, [page]);

        await grain.LeaveAsync(page.ConnectionId);
        var away = await grain.GetAsync();
        await fixture.AdvanceAsync(Grace / 2);
        var back = await grain.JoinAsync(FrontEnd, [reloaded]);
        await fixture.AdvanceAsync(Grace); // past the end of the first connection's grace

        Assert.Equal((1, 1), Counts(joined));
        Assert.Equal((1, 0), Counts(away));
        Assert.Equal((1, 1), Counts(back));
        Assert.Equal((1, 1), await CountsAsync(grain));
        Assert.True(joined.Version < away.Version && away.Version < back.Version);
    }

    [Fact]
    public async Task Leave_NamedViewer_StaysCountedForTheGrace_ThenDrops()
    {
        var grain = NewRoom();
        var alice = Members.New("alice");
        await grain.JoinAsync(FrontEnd, [alice]);

        await grain.LeaveAsync(alice.ConnectionId);
        var justLeft = await CountsAsync(grain);
        await fixture.AdvanceAsync(Grace - TimeSpan.FromMilliseconds(1));
        var almostOver = await grain.GetAsync();
        await fixture.AdvanceAsync(TimeSpan.FromMilliseconds(1));
        var over = await ShownOnceAsync(grain, (0, 0));

        Assert.Equal((1, 0), justLeft);
        Assert.Equal((1, 0), Counts(almostOver));
        Assert.Equal((0, 0), Counts(over));
        Assert.True(over.Version > almostOver.Version);
    }

    [Fact]
    public async Task TwoViewersLeavingASecondApart_EachDropsAtTheEndOfItsOwnGrace()
    {
        var grain = NewRoom();
        var (alice, bob) = (Members.New("alice"), Members.New("bob"));
        await grain.JoinAsync(FrontEnd, [alice, bob]);

        await grain.LeaveAsync(alice.ConnectionId);
        await fixture.AdvanceAsync(TimeSpan.FromSeconds(1));
        await grain.LeaveAsync(bob.ConnectionId);
        await fixture.AdvanceAsync(Grace - TimeSpan.FromSeconds(1));
        var aliceOver = Counts(await ShownOnceAsync(grain, (1, 0)));
        await fixture.AdvanceAsync(TimeSpan.FromSeconds(1));

        Assert.Equal((1, 0), aliceOver);
        Assert.Equal((0, 0), Counts(await ShownOnceAsync(grain, (0, 0))));
    }

    [Fact]
    public async Task Leave_IdleViewer_WithinTheGrace_CountsInWatchingButNotInIdle()
    {
        var grain = NewRoom();
        var alice = Members.New("alice");
        await grain.JoinAsync(FrontEnd, [alice]);
        await grain.ReportActivityAsync(alice.ConnectionId, idle: true);
        var idle = await grain.GetAsync();

        await grain.LeaveAsync(alice.ConnectionId);
        var departing = await grain.GetAsync();

        Assert.Equal((1, 1), (idle.Watching, idle.Idle));
        Assert.Equal((1, 0, 0), (departing.Watching, departing.Connections, departing.Idle));
    }

    [Fact]
    public async Task Leave_AnonymousConnection_DropsAtOnce()
    {
        var grain = NewRoom();
        var anonymous = Members.New();
        await grain.JoinAsync(FrontEnd, [anonymous]);

        await grain.LeaveAsync(anonymous.ConnectionId);

        Assert.Equal((0, 0), await CountsAsync(grain));
    }

    [Fact]
    public async Task Lapse_NamedViewer_AlsoGetsTheGrace()
    {
        var grain = NewRoom();
        await grain.JoinAsync("front-end-that-dies", [Members.New("alice")]);

        // Past the 30 s lease in steps of the 3 s sweep: the lease lapses at the first sweep after it.
        for (var elapsed = TimeSpan.Zero; elapsed <= TimeSpan.FromSeconds(30); elapsed += TimeSpan.FromSeconds(3))
        {
            await fixture.AdvanceAsync(TimeSpan.FromSeconds(3));
        }
        var lapsed = Counts(await ShownOnceAsync(grain, (1, 0)));
        await fixture.AdvanceAsync(Grace);

        Assert.Equal((1, 0), lapsed);
        Assert.Equal((0, 0), Counts(await ShownOnceAsync(grain, (0, 0))));
    }
}
