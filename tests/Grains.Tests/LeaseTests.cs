using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Presence.Grains.Interfaces;

namespace Presence.Grains.Tests;

/// <summary>
/// Leases of 30 s on the grains' fake clock: sweeps every 3 s, front ends renew every 10 s. The clock
/// moves one sweep at a time, so a lapse is exact to the sweep and a stall of the machine lapses
/// nothing (on real time with 1 s leases these tests failed now and then on a loaded machine). The
/// memory streams' agents run on that clock too: the tests read the grain's snapshots.
/// </summary>
[Collection(nameof(FakeClockCluster))]
public sealed class LeaseTests(FakeClockCluster fixture)
{
    private const string FrontEnd = "front-end-1";
    private static readonly PresenceOptions Options = new() { LeaseSeconds = FakeClockCluster.LeaseSeconds };

    private IPresenceGrain NewRoom() => fixture.Client.GetGrain<IPresenceGrain>($"room-{Guid.NewGuid():N}");

    private static (int Watching, int Connections) Counts(PresenceChanged snapshot) => (snapshot.Watching, snapshot.Connections);

    [Fact]
    public async Task Lease_NotRenewed_Lapses_WhileRenewedOneStays()
    {
        var grain = NewRoom();
        var (renewed, abandoned) = (Members.New(), Members.New());
        await grain.JoinAsync(FrontEnd, [renewed]);
        await grain.JoinAsync("front-end-that-dies", [abandoned]);

        // The live front end keeps renewing on its period; the other one never does.
        var renew = () => grain.RenewEachAsync(FrontEnd, [renewed]);
        var beforeTheLease = await PassRenewingAsync(grain, Options.Lease - Options.SweepPeriod, renew, expected: (2, 2));
        var afterIt = await PassRenewingAsync(grain, Options.SweepPeriod, renew, expected: (1, 1));
        var longAfter = await PassRenewingAsync(grain, 3 * Options.Lease, renew, expected: (1, 1));

        Assert.Equal((2, 2), Counts(beforeTheLease));
        Assert.Equal((1, 1), Counts(afterIt));
        Assert.Equal((1, 1), Counts(longAfter));
    }

    [Fact]
    public async Task Leases_RenewedByMembershipAlone_Stay_WhileAnUnrenewedOneLapses()
    {
        var grain = NewRoom();
        var (first, second, abandoned) = (Members.New(), Members.New(), Members.New());
        await grain.JoinAsync(FrontEnd, [first]);
        await grain.JoinAsync(FrontEnd, [second]);
        await grain.JoinAsync("front-end-that-dies", [abandoned]);

        // All three leases were taken at the same moment: only the membership renewals keep two.
        var membership = Members.MembershipOf(first, second);
        var afterLapse = await PassRenewingAsync(grain, 3 * Options.Lease,
            async () => Assert.NotNull(await grain.RenewAsync(FrontEnd, membership)), expected: (2, 2));

        Assert.Equal((2, 2), Counts(afterLapse));
    }

    [Fact]
    public async Task Membership_WithALostLeave_IsRefused_TheListKeepsTheRest_TheLostOneLapses()
    {
        var grain = NewRoom();
        var (first, second, lost) = (Members.New(), Members.New(), Members.New());
        foreach (var member in new[] { first, second, lost })
        {
            await grain.JoinAsync(FrontEnd, [member]);
        }

        // The front end closed the third connection, but its leave never reached the grain.
        var membership = Members.MembershipOf(first, second);
        Assert.Null(await grain.RenewAsync(FrontEnd, membership));
        var afterLapse = await PassRenewingAsync(grain, 3 * Options.Lease,
            async () =>
            {
                if (await grain.RenewAsync(FrontEnd, membership) is null)
                {
                    await grain.RenewEachAsync(FrontEnd, [first, second]);
                }
            },
            expected: (2, 2));

        Assert.Equal((2, 2), Counts(afterLapse));
        Assert.NotNull(await grain.RenewAsync(FrontEnd, membership));
    }

    [Fact]
    public async Task Reminder_RegisteredWhileOccupied_RemovedWhenEmpty()
    {
        var grain = NewRoom();
        var member = Members.New();

        await grain.JoinAsync(FrontEnd, [member]);
        await PublishedAsync(grain); // the publishing turn also registers the reminder
        var occupied = await Eventually.OnceAsync(() => ReminderNamesAsync(grain), names => names.Contains("sweep"));
        await grain.LeaveAsync(member.ConnectionId);
        await PublishedAsync(grain);
        var empty = await Eventually.OnceAsync(() => ReminderNamesAsync(grain), names => !names.Contains("sweep"));

        Assert.Contains("sweep", occupied);
        Assert.DoesNotContain("sweep", empty);
    }

    [Fact]
    public async Task Reactivated_WithoutRenewals_KeepsCountsForTheRebuild_ThenDropsToTruth()
    {
        var grain = NewRoom();
        var (survivor, lost) = (Members.New(), Members.New());
        await grain.JoinAsync(FrontEnd, [survivor]);
        await grain.JoinAsync("front-end-that-dies", [lost]);
        await PublishedAsync(grain); // stored before it is sent: what a successor rebuilds from

        await fixture.Cluster.DeactivateAsync(grain); // as when its silo dies
        var duringRebuild = await grain.RenewEachAsync(FrontEnd, [survivor]);
        // A front end's renewal can come a period late (retried after the dead silo's timeout): the
        // rebuild waits two renewal periods and a sweep for the connections to come back.
        var rebuild = 2 * Options.RenewalPeriod + Options.SweepPeriod;
        var renew = () => grain.RenewEachAsync(FrontEnd, [survivor]);
        var lastOfTheRebuild = await PassRenewingAsync(grain, rebuild - Options.SweepPeriod, renew, expected: (2, 2));
        var afterIt = await PassRenewingAsync(grain, Options.SweepPeriod, renew, expected: (1, 1));

        Assert.Equal((2, 2), Counts(duringRebuild));
        Assert.Equal((2, 2), Counts(lastOfTheRebuild));
        Assert.Equal((1, 1), Counts(afterIt));
        // Snapshots handed out while rebuilding showed the old counts: the truth comes under a new version.
        Assert.True(afterIt.Version > lastOfTheRebuild.Version, $"version {afterIt.Version} after the rebuild, {lastOfTheRebuild.Version} in it");
    }

    /// <summary>
    /// Moves the clock on by whole sweeps until <paramref name="duration"/> has passed, renewing at
    /// each (more often than a front end, never less); each step waits for the grain, whose timers set
    /// their next tick once a tick has run. Answers the room's snapshot once its counts are
    /// <paramref name="expected"/>: a tick may still be on its way into the grain when the clock has
    /// moved (the fake clock fires timers on whichever thread reads it at the time), but the clock
    /// does not move while the test waits, so a tick that is not due never comes.
    /// </summary>
    private async Task<PresenceChanged> PassRenewingAsync(IPresenceGrain grain, TimeSpan duration, Func<Task> renew, (int, int) expected)
    {
        for (var passed = TimeSpan.Zero; passed < duration; passed += Options.SweepPeriod)
        {
            await renew();
            await fixture.AdvanceAsync(Options.SweepPeriod);
            await grain.GetAsync();
        }
        return await Eventually.OnceAsync(grain.GetAsync, snapshot => Counts(snapshot) == expected);
    }

    /// <summary>Moves the clock past the publish interval, and waits for the publishing turn.</summary>
    private async Task PublishedAsync(IPresenceGrain grain)
    {
        await fixture.AdvanceAsync(TimeSpan.FromMilliseconds(ClusterFixture.PublishIntervalMilliseconds));
        await grain.GetAsync();
    }

    private async Task<List<string>> ReminderNamesAsync(IPresenceGrain grain)
    {
        var table = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        var rows = await table.ReadRows(grain.GetGrainId());
        return [.. rows.Reminders.Select(reminder => reminder.ReminderName)];
    }
}
