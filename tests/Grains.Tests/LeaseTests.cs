using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Presence.Grains.Interfaces;

namespace Presence.Grains.Tests;

/// <summary>Leases of 1 s: sweeps every 100 ms, front ends would renew every 333 ms.</summary>
[Collection(nameof(ShortLeaseCluster))]
public sealed class LeaseTests(ShortLeaseCluster fixture)
{
    private const string FrontEnd = "front-end-1";

    private static Member NewMember()
    {
        var id = Guid.NewGuid();
        return new Member(id, id.ToString("N"));
    }

    private async Task<(IPresenceGrain Grain, StreamProbe<PresenceChanged> Watcher)> RoomAsync()
    {
        var room = $"room-{Guid.NewGuid():N}";
        var watcher = await StreamProbe<PresenceChanged>.SubscribeAsync(
            fixture.Client, RoomStreams.ProviderName, RoomStreams.Presence(room));
        return (fixture.Client.GetGrain<IPresenceGrain>(room), watcher);
    }

    [Fact]
    public async Task Lease_NotRenewed_Lapses_WhileRenewedOneStays()
    {
        var (grain, watcher) = await RoomAsync();
        await using var _ = watcher;
        var (renewed, abandoned) = (NewMember(), NewMember());
        await grain.JoinAsync(FrontEnd, renewed);
        await grain.JoinAsync("front-end-that-dies", abandoned);
        await watcher.WaitForAsync(change => change.Connections == 2);

        // The live front end keeps renewing on its period; the other one never does.
        using var renewing = new CancellationTokenSource();
        var renewals = RenewEveryAsync(grain, renewed, TimeSpan.FromMilliseconds(300), renewing.Token);

        var afterLapse = await watcher.WaitForAsync(change => change.Connections < 2);
        await renewing.CancelAsync();
        await renewals;

        Assert.Equal((1, 1), (afterLapse.Watching, afterLapse.Connections));
    }

    [Fact]
    public async Task Reminder_RegisteredWhileOccupied_RemovedWhenEmpty()
    {
        var (grain, watcher) = await RoomAsync();
        await using var _ = watcher;
        var member = NewMember();

        await grain.JoinAsync(FrontEnd, member);
        await watcher.WaitForAsync(change => change.Connections == 1);
        // Calls queue behind the publishing turn, which also registers the reminder.
        await grain.GetAsync();
        Assert.Contains("sweep", await ReminderNamesAsync(grain));

        await grain.LeaveAsync(member.ConnectionId);
        await watcher.WaitForAsync(change => change.Connections == 0);
        await grain.GetAsync();
        Assert.DoesNotContain("sweep", await ReminderNamesAsync(grain));
    }

    [Fact]
    public async Task Reactivated_WithoutRenewals_KeepsCountsForOneRenewalPeriod_ThenDropsToTruth()
    {
        var (grain, watcher) = await RoomAsync();
        await using var _ = watcher;
        var (survivor, lost) = (NewMember(), NewMember());
        await grain.JoinAsync(FrontEnd, survivor);
        await grain.JoinAsync("front-end-that-dies", lost);
        var before = await watcher.WaitForAsync(change => change.Connections == 2);

        await fixture.Cluster.DeactivateAsync(grain);
        var duringRebuild = await grain.RenewAsync(FrontEnd, [survivor]);
        var afterRebuild = await watcher.WaitForAsync(change => change.Version > before.Version);

        Assert.Equal(2, duringRebuild.Connections);
        Assert.Equal((1, 1), (afterRebuild.Watching, afterRebuild.Connections));
    }

    private async Task<IEnumerable<string>> ReminderNamesAsync(IPresenceGrain grain)
    {
        var table = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<IReminderTable>();
        var rows = await table.ReadRows(grain.GetGrainId());
        return rows.Reminders.Select(reminder => reminder.ReminderName);
    }

    private static async Task RenewEveryAsync(IPresenceGrain grain, Member member, TimeSpan period, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                await grain.RenewAsync(FrontEnd, [member]);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }
}
