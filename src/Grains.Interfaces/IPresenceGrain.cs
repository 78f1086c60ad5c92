using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Presence.Grains.Interfaces;

/// <summary>The authority on who is in a room. Key: the room name.</summary>
public interface IPresenceGrain : IGrainWithStringKey
{
    /// <summary>Counts a connection in the room; the snapshot returned includes it.</summary>
    Task<PresenceChanged> JoinAsync(string frontEnd, Member member);

    /// <summary>Removes a connection at once.</summary>
    Task LeaveAsync(Guid connectionId);

    /// <summary>
    /// Renews the leases of all of one front end's connections in the room in one call. Connections
    /// the grain does not know (it was reactivated) are admitted again, except those that left
    /// within the last lease period.
    /// </summary>
    Task<PresenceChanged> RenewAsync(string frontEnd, ImmutableArray<Member> members);

    [ReadOnly]
    Task<PresenceChanged> GetAsync();
}
