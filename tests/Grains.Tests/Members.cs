using Presence.Grains.Interfaces;

namespace Presence.Grains.Tests;

/// <summary>Connections as a front end would present them to a presence grain.</summary>
internal static class Members
{
    public static Member New(string? viewer = null)
    {
        var id = Guid.NewGuid();
        return new Member(id, viewer ?? Member.OwnViewerId(id));
    }

    /// <summary>The membership a front end holding exactly these connections sends.</summary>
    public static Membership MembershipOf(params IEnumerable<Member> members) =>
        members.Aggregate(default(Membership), (membership, member) => membership.With(member.ConnectionId));
}
