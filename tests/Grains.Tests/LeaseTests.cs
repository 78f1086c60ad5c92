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

    private static async Task<(int Watching, int Connections)> CountsAsync(IPresenceGrain grain)
    {
        var counts = await grain.GetAsync();
        return (counts.Watching, counts.Connections);
    }

    [Fact]
    public async Task Lease_NotRenewed_Lapses_WhileRenewedOneStays()
    {
        var grain = NewRoom();
        var (renewed, abandoned) = (Members.New(), Members.New());
        await grain.JoinAsync(FrontEnd, [renewed]);
        await grain.JoinAsync("front-end-that-dies", [abandoned]);

        // The live front end keeps renewing on its period; the other one never does.
        var renew = () => grain.RenewEachAsync(FrontEnd, [renewed]);
        var beforeTheLease = await PassRenewingAsync(grain, Options.Lease - Options.SweepPeriod, renew);
        var afterIt = await PassRenewingAsync(grain, Options.SweepPeriod, renew);
        var longAfter = await PassRenewingAsync(grain, 3 * Options.Lease, renew);

        Assert.Equal((2, 2), beforeTheLease);
        Assert.Equal((1, 1), afterIt);
        Assert.Equal((1, 1), longAfter);
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
            async () => Assert.NotNull(await grain.RenewAsync(FrontEnd, membership)));

        Assert.Equal((2, 2), afterLapse);
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
            });

        Assert.Equal((2, 2), afterLapse);
        Assert.NotNull(await grain.RenewAsync(FrontEnd, membership));
    }

    [Fact]
    public async Task Reminder_RegisteredWhileOccupied_RemovedWhenEmpty()
    {
        var grain = NewRoom();
        var member = Members.New();

        await grain.JoinAsync(FrontEnd, [member]);
        await PublishedAsync(grain); // the publishing turn also registers the reminder
        var occupied = await ReminderNamesAsync(grain);
        await grain.LeaveAsync(member.ConnectionId);
        await PublishedAsync(grain);
        var empty = await ReminderNamesAsync(grain);

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
        var lastOfTheRebuild = await PassRenewingAsync(grain, rebuild - Options.SweepPeriod, renew);
        var afterIt = await PassRenewingAsync(grain, Options.SweepPeriod, renew);

        Assert.Equal((2, 2), (duringRebuild.Watching, duringRebuild.Connections));
        Assert.Equal((2, 2), lastOfTheRebuild);
        Assert.Equal((1, 1), afterIt);
    }

    /// <summary>
    /// Moves the clock by <paramref name="duration"/> one sweep at a time, renewing at each (more
    /// often than a front end, never less), and answers the counts at the end. Each step waits for the
    /// grain: its timers set their next tick once a tick has run, before it answers the next call.
    /// </summary>
    private async Task<(int Watching, int Connections)> PassRenewingAsync(IPresenceGrain grain, TimeSpan duration, Func<Task> renew)
    {
        for (var passed = TimeSpan.Zero; passed < duration; passed += Options.SweepPeriod)
        {
            await renew();
            await fixture.AdvanceAsync(Options.SweepPeriod);
            await grain.GetAsync();
        }
        return await CountsAsync(grain);
    }

    /// <summary>Moves the clock past the publish interval, and waits for the publishing turn.</summary>
    private async Task PublishedAsync(IPresenceGrain grain)
    {
        await fixture.AdvanceAsync(TimeSpan.FromMilliseconds(ClusterFixture.PublishIntervalMilliseconds));
        await grain.GetAsync();
    }

    private async Task<IEnumerable<string>> ReminderNamesAsync(IPresenceGrain grain)
    {
        var table = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        var rows = await table.ReadRows(grain.GetGrainId());
        return rows.Reminders.Select(reminder => reminder.ReminderName);
    }
}
