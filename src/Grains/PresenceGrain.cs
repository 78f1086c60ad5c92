using System.Collections.Immutable;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.Streams;
using Presence.Grains.Interfaces;
using Presence.Grains.Webhooks;

namespace Presence.Grains;

/// <summary>What a room last published; kept in storage so a reactivated grain knows it was occupied.</summary>
[GenerateSerializer, Alias("presence.state")]
public sealed class PublishedPresence
{
    [Id(0)] public long Version { get; set; }
    [Id(1)] public int Watching { get; set; }
    [Id(2)] public int Connections { get; set; }
}

/// <summary>
/// Who is in a room. Connections hold leases that front ends renew in batches: one small call confirms
/// all of a front end's connections while the grain holds the same membership for it, a list renews
/// them one by one when not. A sweep timer removes lapsed leases, and a reminder, registered while
/// the room is occupied, brings the grain back to sweep even after its silo died. Count changes are
/// coalesced to one stream event per publish interval. A viewer with a viewer id of its own whose last
/// connection leaves (or lapses) stays in <c>watching</c> for the departure grace, so that a reload
/// does not dip the count; <c>connections</c> drops at once. Each lease carries an idle flag that
/// its client reports, and each viewer how many of its connections are idle: <c>idle</c>, the
/// viewers all of whose connections are, is kept in step with every change, never counted over.
/// The room's occupancy changes (watching 0 to 1 and back to 0) go to the webhook sender as they
/// are published.
/// </summary>
public sealed partial class PresenceGrain(
    [PersistentState("presence", Storage.Rooms)] IPersistentState<PublishedPresence> published,
    IOptions<PresenceOptions> presenceOptions,
    IOptions<ReminderOptions> reminderOptions,
    IOptions<PrivateRoomsOptions> privateRooms,
    [FromKeyedServices(TimeProviderNames.Grains)] TimeProvider time,
    GrainMetrics metrics,
    WebhookSender webhooks,
    ILogger<PresenceGrain> logger) : Grain, IPresenceGrain, IRemindable
{
    private const string SweepReminder = "sweep";

    private readonly PresenceOptions _options = presenceOptions.Value;
    private readonly Dictionary<Guid, Lease> _leases = [];
    private readonly Dictionary<string, FrontEndLeases> _frontEnds = [];
    private readonly Dictionary<string, ViewerConnections> _connectionsPerViewer = [];
    private readonly Dictionary<Guid, DateTimeOffset> _departed = [];
    private readonly Dictionary<string, DateTimeOffset> _departing = [];
    private IAsyncStream<PresenceChanged> _stream = null!;
    private IGrainTimer _publishTimer = null!;
    private IGrainTimer _graceTimer = null!;
    private IGrainReminder? _reminder;
    private bool _publishScheduled;
    private DateTimeOffset _publishDue;
    private DateTimeOffset _lastPublishedAt = DateTimeOffset.MinValue;
    private DateTimeOffset _rebuildingUntil = DateTimeOffset.MinValue;
    private (int Watching, int Connections) _rebuildFloor;
    private long _version;
    private long _publishedVersion;
    private int _publishedWatching;
    private int _idleViewers;

    private string Room => this.GetPrimaryKeyString();

    /// <summary>Viewers with a connection, and those still within their departure grace.</summary>
    private int Watching => _connectionsPerViewer.Count + _departing.Count;

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _stream = this.GetStreamProvider(RoomStreams.ProviderName)
            .GetStream<PresenceChanged>(RoomStreams.Presence(Room));
        _publishTimer = this.RegisterGrainTimer(
            PublishAsync, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
        this.RegisterGrainTimer(
            Sweep, new GrainTimerCreationOptions(_options.SweepPeriod, _options.SweepPeriod));
        _graceTimer = this.RegisterGrainTimer(
            EndGraces, new GrainTimerCreationOptions(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan));
        _reminder = await this.GetReminder(SweepReminder);

        _version = _publishedVersion = Math.Max(published.State.Version, Groups.ClockVersion(time));
        _publishedWatching = published.State.Watching;
        if (published.State.Connections > 0)
        {
            _rebuildFloor = (published.State.Watching, published.State.Connections);
            // The silo that held this room died: front ends are about to renew their connections.
            // Until they all have, publishing fewer than before would be a false drop. A front end's
            // renewal can come a renewal period late: the one it sent to the dead silo waits for
            // its timeout before it is retried here (seen in the cluster tests: a drop of one, 41 ms
            // before the late renewal, with a window of one period). The rebuild ends as soon as
            // every connection is back.
            _rebuildingUntil = time.GetUtcNow() + 2 * _options.RenewalPeriod + _options.SweepPeriod;
            LogRebuilding(Room, published.State.Connections, _rebuildingUntil);
            Changed();
        }
        else if (published.State.Watching > 0)
        {
            // The silo died during a departure grace, which is over by now: the room is empty.
            Changed();
        }
    }

    public async Task<PresenceChanged> JoinAsync(string frontEnd, ImmutableArray<Member> members)
    {
        var now = time.GetUtcNow();
        var floorRaised = false;
        foreach (var member in members)
        {
            _departed.Remove(member.ConnectionId);
            if (IsRebuilding(now) && !_leases.ContainsKey(member.ConnectionId))
            {
                // A new connection on top of those still to be renewed: the counts shown while
                // rebuilding rise with it, as the true counts do.
                var newViewer = !_connectionsPerViewer.ContainsKey(member.ViewerId) && !_departing.ContainsKey(member.ViewerId);
                _rebuildFloor = (_rebuildFloor.Watching + (newViewer ? 1 : 0), _rebuildFloor.Connections + 1);
                floorRaised = true;
            }
            Admit(frontEnd, member, now + _options.Lease);
        }
        if (floorRaised)
        {
            // Should this activation be lost too while rebuilding (the directory settling after the
            // silo's death), the next one waits for the newcomers' renewals as well.
            await StoreShownAsync(new PresenceChanged(Room, _rebuildFloor.Watching, _rebuildFloor.Connections, _version));
        }
        return Snapshot();
    }

    /// <summary>
    /// Stores counts watchers are shown, so that they outlive this activation (seen in the cluster
    /// tests: an activation lost while the directory settled after a silo's death left its
    /// successor to rebuild to one below the counts shown). A failure is logged: showing goes on.
    /// </summary>
    private async Task StoreShownAsync(PresenceChanged shown)
    {
        try
        {
            await PersistAsync(shown);
        }
        catch (Exception exception)
        {
            LogNotStored(exception, Room, shown.Version);
        }
    }

    public Task LeaveAsync(Guid connectionId)
    {
        if (Remove(connectionId))
        {
            _departed[connectionId] = time.GetUtcNow();
            Changed();
        }
        return Task.CompletedTask;
    }

    public Task<PresenceChanged?> RenewAsync(string frontEnd, Membership membership)
    {
        var held = _frontEnds.GetValueOrDefault(frontEnd);
        if ((held?.Membership ?? default) != membership)
        {
            return Task.FromResult<PresenceChanged?>(null);
        }
        held?.ConfirmedUntil = time.GetUtcNow() + _options.Lease;
        return Task.FromResult<PresenceChanged?>(Snapshot());
    }

    public Task<PresenceChanged> RenewEachAsync(string frontEnd, ImmutableArray<Member> members)
    {
        var expires = time.GetUtcNow() + _options.Lease;
        foreach (var member in members)
        {
            if (!_departed.ContainsKey(member.ConnectionId))
            {
                Admit(frontEnd, member, expires);
            }
        }
        return Task.FromResult(Snapshot());
    }

    public Task ReportActivityAsync(Guid connectionId, bool idle)
    {
        if (_leases.TryGetValue(connectionId, out var lease) && lease.Idle != idle)
        {
            lease.Idle = idle;
            var viewer = lease.Member.ViewerId;
            var connections = _connectionsPerViewer[viewer];
            // A viewer's second tab going idle while the first is active changes no count.
            if (SetViewer(viewer, connections, connections with { Idle = connections.Idle + (idle ? 1 : -1) }))
            {
                Changed();
            }
        }
        return Task.CompletedTask;
    }

    public Task<PresenceChanged> GetAsync() => Task.FromResult(Snapshot());

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        await Sweep();
        if (!_publishScheduled)
        {
            await SyncReminderAsync();
            ReportUpwards(Snapshot());
        }
    }

    /// <summary>A publish on its way reports anyway.</summary>
    public Task ReportAgainAsync()
    {
        if (!_publishScheduled)
        {
            ReportUpwards(Snapshot());
        }
        return Task.CompletedTask;
    }

    private void Admit(string frontEnd, Member member, DateTimeOffset expires)
    {
        if (_leases.TryGetValue(member.ConnectionId, out var lease))
        {
            lease.Expires = expires;
            return;
        }

        if (!_frontEnds.TryGetValue(frontEnd, out var holder))
        {
            _frontEnds[frontEnd] = holder = new FrontEndLeases(frontEnd);
        }
        holder.Membership = holder.Membership.With(member.ConnectionId);
        _leases[member.ConnectionId] = new Lease(member, holder) { Expires = expires };
        _departing.Remove(member.ViewerId); // back within its grace: it never left watching
        var connections = _connectionsPerViewer.GetValueOrDefault(member.ViewerId);
        SetViewer(member.ViewerId, connections, connections with { Count = connections.Count + 1 }); // active: an idle viewer is not any more
        Changed();
    }

    private bool Remove(Guid connectionId)
    {
        if (!_leases.Remove(connectionId, out var lease))
        {
            return false;
        }

        var holder = lease.Holder;
        holder.Membership = holder.Membership.Without(connectionId);
        if (holder.Membership.Count == 0)
        {
            _frontEnds.Remove(holder.Name);
        }

        var viewer = lease.Member.ViewerId;
        var connections = _connectionsPerViewer[viewer];
        var remaining = new ViewerConnections(connections.Count - 1, connections.Idle - (lease.Idle ? 1 : 0));
        SetViewer(viewer, connections, remaining);
        if (remaining.Count == 0)
        {
            if (!lease.Member.IsAnonymous && _options.DepartureGrace > TimeSpan.Zero)
            {
                _departing[viewer] = time.GetUtcNow() + _options.DepartureGrace;
                if (_departing.Count == 1)
                {
                    _graceTimer.Change(_options.DepartureGrace, Timeout.InfiniteTimeSpan);
                }
            }
        }
        return true;
    }

    /// <summary>
    /// Stores a viewer's connections (none: forgets the viewer) and keeps the count of idle viewers
    /// in step; true if the viewer became idle or stopped being idle.
    /// </summary>
    private bool SetViewer(string viewer, ViewerConnections before, ViewerConnections after)
    {
        if (after.Count == 0)
        {
            _connectionsPerViewer.Remove(viewer);
        }
        else
        {
            _connectionsPerViewer[viewer] = after;
        }
        var change = (after.IsIdle ? 1 : 0) - (before.IsIdle ? 1 : 0);
        _idleViewers += change;
        return change != 0;
    }

    /// <summary>Viewers whose departure grace is over leave <c>watching</c>; the timer then waits for the next one.</summary>
    private Task EndGraces()
    {
        var now = time.GetUtcNow();
        var ended = _departing.Where(entry => entry.Value <= now).Select(entry => entry.Key).ToList();
        foreach (var viewer in ended)
        {
            _departing.Remove(viewer);
        }
        if (ended.Count > 0)
        {
            Changed();
        }
        if (_departing.Count > 0)
        {
            _graceTimer.Change(_departing.Values.Min() - now, Timeout.InfiniteTimeSpan);
        }
        return Task.CompletedTask;
    }

    private Task Sweep()
    {
        var now = time.GetUtcNow();
        var expired = _leases.Where(entry => entry.Value.LapsedBy(now)).Select(entry => entry.Key).ToList();
        foreach (var connectionId in expired)
        {
            Remove(connectionId);
        }
        if (expired.Count > 0)
        {
            metrics.LeasesLapsed(expired.Count);
            LogExpired(Room, expired.Count);
            Changed();
        }

        var forgotten = now - _options.Lease;
        foreach (var (connectionId, leftAt) in _departed)
        {
            if (leftAt <= forgotten)
            {
                _departed.Remove(connectionId);
            }
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// A new state gets a new version: a snapshot handed out now and the event that later publishes
    /// the same state carry the same version, so a front end writes it once.
    /// </summary>
    private void Changed()
    {
        _version = Groups.NextVersion(_version, time);
        SchedulePublish();
    }

    /// <summary>
    /// Leading and trailing edge: at once if the room was quiet, else at the end of the window; while
    /// rebuilding, at the end of the rebuild, or earlier if the renewals bring back every connection.
    /// </summary>
    private void SchedulePublish()
    {
        var now = time.GetUtcNow();
        var windowEnd = _lastPublishedAt + _options.PublishInterval;
        var due = IsRebuilding(now) ? _rebuildingUntil : windowEnd > now ? windowEnd : now;
        if (_publishScheduled && _publishDue <= due)
        {
            return;
        }
        _publishScheduled = true;
        _publishDue = due;
        _publishTimer.Change(due - now, Timeout.InfiniteTimeSpan);
    }

    private async Task PublishAsync(CancellationToken cancellationToken)
    {
        _publishScheduled = false;
        var now = time.GetUtcNow();
        if (IsRebuilding(now))
        {
            SchedulePublish();
            return;
        }
        if (_rebuildingUntil != DateTimeOffset.MinValue)
        {
            // Snapshots handed out while rebuilding showed the old counts under the current version.
            _rebuildingUntil = DateTimeOffset.MinValue;
            _version = Groups.NextVersion(_version, time);
        }
        if (_version == _publishedVersion)
        {
            return;
        }

        _lastPublishedAt = now;
        var change = new PresenceChanged(Room, Watching, _leases.Count, _version, _idleViewers);
        // Stored before it is sent, whatever becomes of the sending: a stream whose queue was on a
        // dead silo can fail or hang.
        await StoreShownAsync(change);
        try
        {
            await _stream.OnNextAsync(change);
            _publishedVersion = change.Version;
            ReportOccupancy(change.Watching, now);
            await SyncReminderAsync();
            ReportUpwards(change);
        }
        catch (Exception exception)
        {
            LogPublishFailed(exception, Room, change.Version);
            SchedulePublish();
        }
    }

    /// <summary>Once per change of the published counts between 0 and more watching; never while rebuilding.</summary>
    private void ReportOccupancy(int watching, DateTimeOffset now)
    {
        if ((watching > 0) != (_publishedWatching > 0))
        {
            webhooks.Post(new RoomOccupancyChanged(Room, watching > 0, now));
        }
        _publishedWatching = watching;
    }

    private async Task PersistAsync(PresenceChanged change)
    {
        if (change.Watching == 0)
        {
            await published.ClearStateAsync();
            return;
        }
        published.State.Version = change.Version;
        published.State.Watching = change.Watching;
        published.State.Connections = change.Connections;
        await published.WriteStateAsync();
    }

    private async Task SyncReminderAsync()
    {
        if (Watching > 0 && _reminder is null)
        {
            var period = Groups.ReportPeriod(_options, reminderOptions.Value);
            _reminder = await this.RegisterOrUpdateReminder(SweepReminder, period, period);
        }
        else if (Watching == 0 && _reminder is not null)
        {
            await this.UnregisterReminder(_reminder);
            _reminder = null;
        }
    }

    /// <summary>
    /// To the room directory and to the room's group: one one-way call each per published change,
    /// and again on every reminder tick, so that a directory or group that lost its silo fills up again.
    /// </summary>
    private void ReportUpwards(PresenceChanged shown)
    {
        GrainFactory.GetGrain<IRoomDirectoryGrain>(0)
            .ReportAsync(new RoomWatching(Room, shown.Watching))
            .Ignore();
        Groups.Report(GrainFactory, Groups.ParentOf(Room, privateRooms.Value),
            new GroupPart(Room, IsGroup: false, shown.Watching, shown.Connections, shown.Watching > 0 ? 1 : 0, shown.Version));
    }

    /// <summary>Reactivated after a crash and not all front ends have renewed yet.</summary>
    private bool IsRebuilding(DateTimeOffset now) => now < _rebuildingUntil && _leases.Count < _rebuildFloor.Connections;

    /// <summary>The true counts; while rebuilding after a crash, never below what was last published plus the joins since.</summary>
    private PresenceChanged Snapshot() =>
        IsRebuilding(time.GetUtcNow())
            ? new PresenceChanged(Room, Math.Max(_rebuildFloor.Watching, Watching), _rebuildFloor.Connections, _version, _idleViewers)
            : new PresenceChanged(Room, Watching, _leases.Count, _version, _idleViewers);

    /// <summary>One connection's lease: renewed on its own by a listed renewal, or with all of its front end's.</summary>
    private sealed class Lease(Member member, FrontEndLeases holder)
    {
        public Member Member { get; } = member;

        public FrontEndLeases Holder { get; } = holder;

        public DateTimeOffset Expires { get; set; }

        /// <summary>As its client last reported; a new lease (also one admitted again after a reactivation) is active.</summary>
        public bool Idle { get; set; }

        public bool LapsedBy(DateTimeOffset now) => Expires <= now && Holder.ConfirmedUntil <= now;
    }

    /// <summary>A viewer's connections in the room, and how many of them are idle.</summary>
    private readonly record struct ViewerConnections(int Count, int Idle)
    {
        /// <summary>Every connection idle: the viewer counts in <c>idle</c>.</summary>
        public bool IsIdle => Count > 0 && Idle == Count;
    }

    /// <summary>What the grain holds of one front end's connections, and until when a renewal confirmed them all.</summary>
    private sealed class FrontEndLeases(string name)
    {
        public string Name { get; } = name;

        public Membership Membership { get; set; }

        public DateTimeOffset ConfirmedUntil { get; set; } = DateTimeOffset.MinValue;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Room {Room}: {Count} lease(s) lapsed")]
    private partial void LogExpired(string room, int count);

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Room {Room} reactivated with {Connections} connection(s) last published; rebuilding until {Until}")]
    private partial void LogRebuilding(string room, int connections, DateTimeOffset until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Room {Room}: the counts of version {Version} could not be stored; they are shown anyway")]
    private partial void LogNotStored(Exception exception, string room, long version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Room {Room}: publishing version {Version} failed; will retry")]
    private partial void LogPublishFailed(Exception exception, string room, long version);
}
