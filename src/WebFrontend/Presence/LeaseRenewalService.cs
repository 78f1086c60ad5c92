using Microsoft.Extensions.Options;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Groups;
using Presence.WebFrontend.Sse;

namespace Presence.WebFrontend.Presence;

/// <summary>
/// Renews the leases of all local connections of a room with one call per room per renewal period
/// (two when the grain's membership differs from this front end's) and reads the room's last feed
/// id beside it; pushes the grain's snapshot to the room and has it read the feed events it missed
/// (so every browser converges even if a stream event was lost), and lets rooms without local
/// connections go. Beside it, reads the snapshot of each group watched here (one call per group per
/// period, however many watch it) so that a group stream that lost an event, or its subscription,
/// converges too.
/// </summary>
internal sealed partial class LeaseRenewalService(
    LocalRooms rooms,
    LocalGroups groups,
    IGrainFactory grains,
    FrontEndIdentity frontEnd,
    IOptions<PresenceOptions> options,
    ILogger<LeaseRenewalService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = stoppingToken };
        using var timer = new PeriodicTimer(options.Value.RenewalPeriod);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await Parallel.ForEachAsync(rooms.All, parallel, RenewAsync);
            await Parallel.ForEachAsync(groups.All, parallel, CheckGroupAsync);
        }
    }

    private async ValueTask RenewAsync(LocalRoom room, CancellationToken cancellationToken)
    {
        try
        {
            if (await rooms.TryCloseAsync(room))
            {
                return;
            }
            // The room's last feed id, to catch up on events the stream lost; it may fail alone
            // (the feed's storage away) without holding up the renewal.
            var lastFeedId = LastFeedIdAsync(room.Name);
            // One call of a few bytes when the grain holds the same connections as this front end
            // does; the list only when it does not. Retried through a silo failure, so that a room
            // whose grain was on a dead silo is rebuilt within the period.
            var presence = grains.GetGrain<IPresenceGrain>(room.Name);
            var renewed = await ClusterCalls.Retry.ExecuteAsync(async _ =>
                await presence.RenewAsync(frontEnd.Id, room.JoinedMembership())
                ?? await presence.RenewEachAsync(frontEnd.Id, room.JoinedMembers()), cancellationToken);
            await room.CheckSubscriptionAsync(renewed, await lastFeedId);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            LogRenewalFailed(exception, room.Name);
        }
    }

    private async ValueTask CheckGroupAsync(LocalGroup group, CancellationToken cancellationToken)
    {
        try
        {
            if (!await groups.TryCloseAsync(group))
            {
                await group.CheckSubscriptionAsync(await grains.GetGrain<IGroupGrain>(group.Name).GetAsync());
            }
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            LogGroupCheckFailed(exception, group.Name);
        }
    }

    private async Task<long?> LastFeedIdAsync(string room)
    {
        try
        {
            return await grains.GetGrain<IFeedGrain>(room).GetLastIdAsync();
        }
        catch (Exception)
        {
            return null; // the next period reads it again
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the leases of room {Room} failed; the next period tries again")]
    private partial void LogRenewalFailed(Exception exception, string room);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the sums of group {Group} failed; the next period tries again")]
    private partial void LogGroupCheckFailed(Exception exception, string group);
}
