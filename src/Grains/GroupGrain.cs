using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.Streams;
using Presence.Grains.Interfaces;

namespace Presence.Grains;

/// <summary>A group's parts as last reported; kept in storage so that a reactivated group shows no false drop.</summary>
[GenerateSerializer, Alias("group.state")]
public sealed class GroupParts
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public List<ReportedPart> Parts { get; set; } = [];
}

[GenerateSerializer, Immutable, Alias("group.reported")]
public sealed record ReportedPart([property: Id(0)] GroupPart Part, [property: Id(1)] DateTimeOffset At);

/// <summary>
/// A group of rooms: sums what its occupied rooms and its groups below report (each when it
/// publishes a change, and again every report period), however many watch them. Changes are
/// coalesced to one stream event per publish interval, stored before they are sent, and reported to
/// the parent group in turn. A reader gets the sums last stored, never newer ones: a successor
/// activation (its silo died) starts from them, so no one was shown more than it shows. A part not reported again for <see cref="ForgottenAfterPeriods"/>
/// report periods (its last report lost with a silo) is dropped.
/// </summary>
public sealed partial class GroupGrain(
    [PersistentState("group", Storage.Rooms)] IPersistentState<GroupParts> stored,
    IOptions<PresenceOptions> presenceOptions,
    IOptions<ReminderOptions> reminderOptions,
    IOptions<PrivateRoomsOptions> privateRooms,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    ILogger<GroupGrain> logger) : Grain, IGroupGrain
{
    private const int ForgottenAfterPeriods = 3;

    private readonly PresenceOptions _options = presenceOptions.Value;
    private readonly Dictionary<(string Name, bool IsGroup), ReportedPart> _parts = [];
    private IAsyncStream<GroupChanged> _stream = null!;
    private IGrainTimer _publishTimer = null!;
    private TimeSpan _reportPeriod;
    private bool _publishScheduled;
    private DateTimeOffset _lastPublishedAt = DateTimeOffset.MinValue;
    private long _version;
    private long _publishedVersion;
    private GroupChanged _shown = null!;

    private string Group => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _stream = this.GetStreamProvider(RoomStreams.ProviderName).GetStream<GroupChanged>(RoomStreams.Group(Group));
        _publishTimer = this.RegisterGrainTimer(
            PublishAsync, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
        _reportPeriod = Groups.ReportPeriod(_options, reminderOptions.Value);
        this.RegisterGrainTimer(OnReportPeriodAsync, new GrainTimerCreationOptions(_reportPeriod, _reportPeriod));
        // A part's silence counts from now: it could not report to this activation before it ran,
        // and what was stored is only as recent as the last change of the sums (a part whose
        // counts have not changed for a while reports again without being stored).
        var now = time.GetUtcNow();
        foreach (var reported in stored.State.Parts)
        {
            _parts[(reported.Part.Name, reported.Part.IsGroup)] = reported with { At = now };
            // Its reports to the previous activation in the seconds before that one's silo was
            // declared dead were lost (a one-way call to a dead silo is dropped; seen in the cluster
            // tests): ask for its counts now rather than wait for its next report, up to a period.
            AskToReportAgain(reported.Part);
        }
        _version = _publishedVersion = Math.Max(stored.State.Version, Groups.ClockVersion(time));
        _shown = Sums();
        return Task.CompletedTask;
    }

    public Task ReportAsync(GroupPart part)
    {
        var key = (part.Name, part.IsGroup);
        var held = _parts.GetValueOrDefault(key)?.Part;
        if (held is not null && part.Version < held.Version)
        {
            return Task.CompletedTask; // overtaken by a newer report
        }
        // An emptied part is kept (it adds nothing) until it is forgotten: its version stops an older
        // report, overtaken on the way, from bringing its counts back.
        _parts[key] = new ReportedPart(part, time.GetUtcNow());
        if ((held?.Watching ?? 0, held?.Connections ?? 0, held?.Rooms ?? 0) != (part.Watching, part.Connections, part.Rooms))
        {
            Changed();
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// The sums last stored (and published, or about to be). The newest ones would be up to a
    /// publish interval ahead of storage: shown, then lost with the silo, they were a false drop
    /// once the successor showed the stored ones (seen once in thirty cluster test runs).
    /// </summary>
    public Task<GroupChanged> GetAsync() => Task.FromResult(_shown);

    private GroupChanged Sums()
    {
        var (watching, connections, rooms) = (0, 0, 0);
        foreach (var (part, _) in _parts.Values)
        {
            watching += part.Watching;
            connections += part.Connections;
            rooms += part.Rooms;
        }
        return new GroupChanged(Group, watching, connections, rooms, _version);
    }

    private void Changed()
    {
        _version = Groups.NextVersion(_version, time);
        if (_publishScheduled)
        {
            return;
        }
        // Leading and trailing edge: at once if the group was quiet, else at the end of the window.
        _publishScheduled = true;
        var wait = _lastPublishedAt + _options.PublishInterval - time.GetUtcNow();
        _publishTimer.Change(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    private async Task PublishAsync(CancellationToken cancellationToken)
    {
        _publishScheduled = false;
        if (_version == _publishedVersion)
        {
            return;
        }
        _lastPublishedAt = time.GetUtcNow();
        var sums = Sums();
        // Stored before it is sent, like a room's counts: a successor activation starts from them.
        await StoreAsync(sums.Version);
        _shown = sums;
        try
        {
            await _stream.OnNextAsync(sums);
            _publishedVersion = sums.Version;
            ReportToParent(sums);
        }
        catch (Exception exception)
        {
            LogPublishFailed(exception, Group, sums.Version);
            Changed();
        }
    }

    /// <summary>Reports the sums, also empty ones, unless a publish on its way reports them anyway.</summary>
    public Task ReportAgainAsync()
    {
        if (!_publishScheduled)
        {
            ReportToParent(_shown);
        }
        return Task.CompletedTask;
    }

    /// <summary>Every report period: drops parts that stopped reporting, and reports the sums to the parent group again.</summary>
    private Task OnReportPeriodAsync()
    {
        ForgetSilentParts();
        return _parts.Count > 0 ? ReportAgainAsync() : Task.CompletedTask;
    }

    private void AskToReportAgain(GroupPart part) =>
        (part.IsGroup
            ? GrainFactory.GetGrain<IGroupGrain>(part.Name).ReportAgainAsync()
            : GrainFactory.GetGrain<IPresenceGrain>(part.Name).ReportAgainAsync()).Ignore();

    private void ForgetSilentParts()
    {
        var forgotten = time.GetUtcNow() - ForgottenAfterPeriods * _reportPeriod;
        var silent = _parts.Where(entry => entry.Value.At <= forgotten).ToList();
        foreach (var (key, _) in silent)
        {
            _parts.Remove(key);
        }
        if (silent.Any(entry => entry.Value.Part.Watching > 0))
        {
            LogForgotten(Group, silent.Count);
            Changed();
        }
    }

    private void ReportToParent(GroupChanged sums) =>
        Groups.Report(GrainFactory, Groups.ParentOf(Group, privateRooms.Value),
            new GroupPart(Group, IsGroup: true, sums.Watching, sums.Connections, sums.Rooms, sums.Version));

    /// <summary>A failure is logged: the sums are published anyway, and the next change stores them again.</summary>
    private async Task StoreAsync(long version)
    {
        try
        {
            if (_parts.Count == 0)
            {
                await stored.ClearStateAsync();
                return;
            }
            stored.State.Version = version;
            stored.State.Parts = [.. _parts.Values];
            await stored.WriteStateAsync();
        }
        catch (Exception exception)
        {
            LogNotStored(exception, Group, version);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Group {Group}: {Count} part(s) stopped reporting and were dropped")]
    private partial void LogForgotten(string group, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group {Group}: the sums of version {Version} could not be stored; they are shown anyway")]
    private partial void LogNotStored(Exception exception, string group, long version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group {Group}: publishing version {Version} failed; will retry")]
    private partial void LogPublishFailed(Exception exception, string group, long version);
}
