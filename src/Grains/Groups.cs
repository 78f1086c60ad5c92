using Orleans.Hosting;
using Presence.Grains.Interfaces;

namespace Presence.Grains;

/// <summary>What rooms and groups share: where they report their counts, how often they report them again, and their versions.</summary>
internal static class Groups
{
    /// <summary>
    /// The group a room or group reports to: its name up to its last <c>:</c> (<c>a:b:c</c> to
    /// <c>a:b</c>); none for a name without one before its end, nor for a private name whose parent
    /// is not private (<c>private:team</c> reports to no <c>private</c>).
    /// </summary>
    public static string? ParentOf(string name, PrivateRoomsOptions privacy)
    {
        var colon = name.LastIndexOf(':');
        if (colon <= 0)
        {
            return null;
        }
        var parent = name[..colon];
        return privacy.IsPrivate(name) && !privacy.IsPrivate(parent) ? null : parent;
    }

    /// <summary>One one-way call to the parent group, if there is one.</summary>
    public static void Report(IGrainFactory grains, string? parent, GroupPart part)
    {
        if (parent is not null)
        {
            grains.GetGrain<IGroupGrain>(parent).ReportAsync(part).Ignore();
        }
    }

    /// <summary>
    /// How often an occupied room's reminder ticks, and so how often a room and a group report
    /// their counts again (a group or directory that lost its silo fills up again within it).
    /// </summary>
    public static TimeSpan ReportPeriod(PresenceOptions presence, ReminderOptions reminders) =>
        presence.Lease > reminders.MinimumReminderPeriod ? presence.Lease : reminders.MinimumReminderPeriod;

    /// <summary>
    /// The next version after <paramref name="previous"/>. The clock (in µs) is a floor so that
    /// versions keep increasing across reactivations, also after storage was cleared.
    /// </summary>
    public static long NextVersion(long previous, TimeProvider time) => Math.Max(previous + 1, ClockVersion(time));

    public static long ClockVersion(TimeProvider time) => (time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;
}
