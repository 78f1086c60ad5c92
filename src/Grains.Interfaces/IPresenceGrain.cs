using System.Collections.Immutable;
using Orleans.Concurrency;

namespace Presence.Grains.Interfaces;

/// <summary>The authority on who is in a room. Key: the room name.</summary>
public interface IPresenceGrain : IGrainWithStringKey
{
    /// <summary>
    /// Counts connections of one front end in the room; the snapshot returned includes them. A front
    /// end sends the connections that opened while its previous join call was under way in one call.
    /// </summary>
    Task<PresenceChanged> JoinAsync(string frontEnd, ImmutableArray<Member> members);

    /// <summary>Removes a connection at once.</summary>
    Task LeaveAsync(Guid connectionId);

    /// <summary>
    /// Renews the leases of all of one front end's connections in the room at once, if the grain
    /// holds exactly that membership for the front end; then returns the snapshot. Returns null if it
    /// does not (a join or a leave in flight, a lost leave, a reactivated grain): the front end then
    /// lists its connections with <see cref="RenewEachAsync"/>.
    /// </summary>
    Task<PresenceChanged?> RenewAsync(string frontEnd, Membership membership);

    /// <summary>
    /// Renews the leases of the listed connections of one front end. Connections the grain does not
    /// know (it was reactivated) are admitted again, except those that left within the last lease
    /// period. Connections of the front end that are not listed keep their lease and lapse with it.
    /// </summary>
    Task<PresenceChanged> RenewEachAsync(string frontEnd, ImmutableArray<Member> members);

    /// <summary>
    /// Marks a connection idle or active (new connections are active). A connection the grain does
    /// not hold (it left, or the grain was reactivated and its front end has not renewed it yet) is
    /// passed over: idle flags are not kept across reactivations.
    /// </summary>
    Task ReportActivityAsync(Guid connectionId, bool idle);

    [ReadOnly]
    Task<PresenceChanged> GetAsync();

    /// <summary>Reports the room's counts to its group again, at once: asked by a group that was reactivated.</summary>
    [OneWay]
    Task ReportAgainAsync();
}
