using Microsoft.Extensions.Options;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Observability;
using Presence.WebFrontend.Sse;

namespace Presence.WebFrontend.Groups;

/// <summary>
/// One <c>GET /groups/{group}/events</c> response: retry line and the group's sums at once, then
/// live <c>group</c> events and keep-alives until the client goes away. Not counted in any room.
/// </summary>
internal sealed class GroupEventStream(
    LocalGroups groups, IGrainFactory grains, IOptions<SseOptions> options, TimeProvider time, PresenceMetrics metrics)
{
    private readonly ReadOnlyMemory<byte> _retry = SseFrame.Retry(options.Value.RetryMilliseconds);

    /// <param name="endsAt">When the subscribe token of a private group expires.</param>
    public async Task RunAsync(HttpContext context, string group, DateTimeOffset? endsAt)
    {
        var id = Guid.NewGuid();
        var connection = new SseConnection(id, Member.OwnViewerId(id), counted: false, options.Value.PendingLimit);
        // Attached (and so receiving live sums) before it reads the snapshot: a newer one posted
        // meanwhile is written after it, an older one not at all.
        var local = await groups.AttachAsync(group, connection);
        try
        {
            var snapshot = await ClusterCalls.Retry.ExecuteAsync(
                async _ => await grains.GetGrain<IGroupGrain>(group).GetAsync(), context.RequestAborted);
            var writer = await SseResponse.OpenAsync(context, _retry, connection, await SseFrame.GroupAsync(snapshot));
            metrics.Delivered(isFeedEvent: false, frames: 1);
            await SseResponse.HoldAsync(connection, writer, endsAt, time, context.RequestAborted);
        }
        catch (Exception exception) when (SseResponse.EndedByClient(context, exception))
        {
            // The normal end of an event stream, not an error of ours.
        }
        finally
        {
            local.Remove(connection);
        }
    }
}
