using System.Collections.Immutable;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend.Presence;

/// <summary>
/// This front end's joins of one room, sent to the room's presence grain in batches: the
/// connections that open while a join call is under way go together in the next one. A storm of
/// thousands of joins costs a handful of calls (and grain turns), not one per connection in series.
/// </summary>
internal sealed class RoomJoiner(IPresenceGrain presence, string frontEnd)
{
    private readonly Lock _gate = new();
    private List<(Member Member, TaskCompletionSource<PresenceChanged> Joined)> _waiting = [];
    private bool _sending;

    /// <summary>Counts the connection; completes with a snapshot that includes it.</summary>
    public Task<PresenceChanged> JoinAsync(Member member)
    {
        var joined = new TaskCompletionSource<PresenceChanged>(TaskCreationOptions.RunContinuationsAsynchronously);
        bool send;
        lock (_gate)
        {
            _waiting.Add((member, joined));
            send = !_sending;
            _sending = true;
        }
        if (send)
        {
            _ = SendAsync();
        }
        return joined.Task;
    }

    private async Task SendAsync()
    {
        while (true)
        {
            List<(Member Member, TaskCompletionSource<PresenceChanged> Joined)> batch;
            lock (_gate)
            {
                if (_waiting.Count == 0)
                {
                    _sending = false;
                    return;
                }
                (batch, _waiting) = (_waiting, []);
            }
            try
            {
                var members = batch.Select(waiting => waiting.Member).ToImmutableArray();
                var snapshot = await ClusterCalls.Retry.ExecuteAsync(async _ => await presence.JoinAsync(frontEnd, members));
                batch.ForEach(waiting => waiting.Joined.TrySetResult(snapshot));
            }
            catch (Exception exception)
            {
                batch.ForEach(waiting => waiting.Joined.TrySetException(exception));
                // An attempt may have been counted although its answer was lost: take them out
                // again (leaving is idempotent), rather than leave them to lapse with their lease.
                foreach (var (member, _) in batch)
                {
                    presence.LeaveAsync(member.ConnectionId).Ignore();
                }
            }
        }
    }
}
