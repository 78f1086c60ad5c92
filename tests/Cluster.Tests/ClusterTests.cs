using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Presence.Grains;
using Presence.Grains.Feed;
using Presence.WebFrontend.Tests;

namespace Presence.Cluster.Tests;

/// <summary>
/// Cluster mode on real processes: redis-server, silos and client-mode front ends, killed with
/// SIGKILL. One test at a time (their own collection): each starts its own cluster.
/// </summary>
[Collection(nameof(ClusterTests))]
[CollectionDefinition(nameof(ClusterTests), DisableParallelization = true)]
public sealed class ClusterTests
{
    private const string FastCounts = "Presence:PublishIntervalMilliseconds=100";

    [Fact]
    public async Task TwoSilosTwoFrontEnds_EveryClientSeesTheTotalAcrossFrontEnds()
    {
        await using var cluster = await ProcessCluster.StartAsync(silos: 2, frontEnds: 2, FastCounts);
        var watchers = new List<Watcher>();
        for (var room = 0; room < 3; room++)
        {
            // Room r: r + 1 connections through the first front end, r + 2 through the second.
            for (var i = 0; i < room + 1; i++) watchers.Add(await Watcher.OpenAsync(cluster.FrontEnds[0].Http, $"total-{room}"));
            for (var i = 0; i < room + 2; i++) watchers.Add(await Watcher.OpenAsync(cluster.FrontEnds[1].Http, $"total-{room}"));
        }

        await Task.WhenAll(watchers.Select(w => w.WaitUntilAsync(
            w => w.LatestConnections == 2 * int.Parse(w.Room[^1..]) + 3, TimeSpan.FromSeconds(15))));
        await DisposeAllAsync(watchers);
    }

    [Fact]
    public async Task TwoSilosTwoFrontEnds_WebhooksSentOncePerTransition_FromTheRoomsSilo()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var cluster = await ProcessCluster.StartAsync(silos: 2, frontEnds: 2, FastCounts,
            "Presence:DepartureGraceSeconds=1", $"Webhooks:Url={receiver.Url}", "Webhooks:Secret=cluster-secret");
        const string room = "hooked";

        // One viewer through each front end: one occupied; both leave: one vacated, after the grace.
        var viewers = await Task.WhenAll(cluster.FrontEnds.Select(frontEnd => SseReader.OpenAsync(frontEnd.Http, $"/rooms/{room}/events?viewer=v{frontEnd.Process.Id}")));
        var occupied = await receiver.NextAsync(room);
        await Task.WhenAll(viewers.Select(viewer => viewer.DisposeAsync().AsTask()));
        var vacated = await receiver.NextAsync(room);
        // A new transition: a second copy of either would have come before it.
        await using var again = await SseReader.OpenAsync(cluster.FrontEnds[1].Http, $"/rooms/{room}/events");
        var occupiedAgain = await receiver.NextAsync(room);

        Assert.Equal(
            ["room.occupied", "room.vacated", "room.occupied"],
            new[] { occupied, vacated, occupiedAgain }.Select(delivery => delivery.Json.GetProperty("type").GetString()));
        Assert.All([occupied, vacated, occupiedAgain], delivery => Assert.Equal(200, delivery.Status));
    }

    [Fact]
    public async Task TwoFrontEnds_AnActivityReportSentToTheOtherFrontEnd_MovesIdleEverywhere()
    {
        await using var cluster = await ProcessCluster.StartAsync(silos: 2, frontEnds: 2, FastCounts);
        const string room = "activity";
        await using var viewer = await SseReader.OpenAsync(cluster.FrontEnds[0].Http, $"/rooms/{room}/events?viewer=alice&activity=true");
        var connection = await viewer.WaitForAsync(message => message.Event == "connection");
        var grant = JsonDocument.Parse(connection.Data!).RootElement;
        await using var watcher = await SseReader.OpenAsync(cluster.FrontEnds[1].Http, $"/rooms/{room}/events?count=false");

        // Through the front end that does not hold the stream, as a load balancer may send it.
        using var report = new HttpRequestMessage(HttpMethod.Post, $"/connections/{grant.GetProperty("id").GetString()}/activity")
        {
            Content = JsonContent.Create(new { idle = true }),
        };
        report.Headers.Authorization = new AuthenticationHeaderValue("Bearer", grant.GetProperty("token").GetString());
        using var answer = await cluster.FrontEnds[1].Http.SendAsync(report);

        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        var away = await watcher.WaitForPresenceAsync(p => p.Idle == 1, TimeSpan.FromSeconds(15));
        Assert.Equal((1, 1), (away.Watching, away.Connections));
        await viewer.WaitForPresenceAsync(p => p.Idle == 1, TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task SiloHostingARoomKilled_EveryClientExactWithin15Seconds_NeverBelowTheTruth()
    {
        // Default leases (30 s: renewals every 10 s): the promise holds as users run it.
        await using var cluster = await ProcessCluster.StartAsync(silos: 2, frontEnds: 2, FastCounts);
        var rooms = Enumerable.Range(0, 10).Select(i => $"kill-{i}").ToArray();
        var watchers = (await Task.WhenAll(rooms.SelectMany(room => Enumerable.Range(0, 20).Select(i =>
            Watcher.OpenAsync(cluster.FrontEnds[i % 2].Http, room))))).ToList();
        await Task.WhenAll(watchers.Select(w => w.WaitUntilAsync(w => w.LatestConnections == 20, TimeSpan.FromSeconds(20))));
        var seenBeforeKill = watchers.ToDictionary(w => w, w => w.Counts.Count);

        var victim = await cluster.SiloHostingAsync(typeof(PresenceGrain), rooms[0]);
        var sinceKill = Stopwatch.StartNew();
        await cluster.RemoveSiloAsync(victim, kill: true);
        // One more viewer per room right after the kill, through the first front end.
        var newcomers = await Task.WhenAll(rooms.Select(room => Watcher.OpenAsync(cluster.FrontEnds[0].Http, room)));

        var remaining = TimeSpan.FromSeconds(15) - sinceKill.Elapsed;
        await Task.WhenAll(watchers.Concat(newcomers).Select(w => w.WaitUntilAsync(w => w.LatestConnections == 21, remaining)));
        // Every connection is a viewer of its own: watching and connections move together.
        Assert.All(watchers, w => Assert.All(w.Counts.Skip(seenBeforeKill[w]), counts => Assert.True(counts is { Connections: >= 20, Watching: >= 20 },
            $"{w.Room}: a watcher was shown {counts} after the kill; the truth never went below 20")));
        Assert.All(newcomers, w => Assert.All(w.Counts, counts => Assert.True(counts is { Connections: >= 21, Watching: >= 21 },
            $"{w.Room}: a newcomer was shown {counts}; it was the 21st")));
        Assert.All(watchers.Concat(newcomers), w => Assert.Equal(21, w.Counts[^1].Watching));
        Assert.All(watchers.Concat(newcomers), w => Assert.Equal(0, w.Reconnects));
        await DisposeAllAsync([.. watchers, .. newcomers]);
    }

    [Fact]
    public async Task Group_SumsRoomsOnBothSilos_ItsSiloKilled_StaysExactWithoutADrop()
    {
        await using var cluster = await ProcessCluster.StartAsync(silos: 2, frontEnds: 2, FastCounts);
        const string group = "league";
        // Rooms until both silos hold some (placement is Orleans'), two viewers each, one per front end.
        var (rooms, viewers) = (new Dictionary<string, SiloNode>(), new List<SseReader>());
        while (rooms.Values.Distinct().Count() < 2 || rooms.Count < 4)
        {
            Assert.True(rooms.Count < 40, "40 rooms, all on one silo");
            var room = $"{group}:match{rooms.Count}";
            viewers.AddRange(await Task.WhenAll(cluster.FrontEnds.Select(frontEnd => SseReader.OpenAsync(frontEnd.Http, $"/rooms/{room}/events"))));
            rooms[room] = await cluster.SiloHostingAsync(typeof(PresenceGrain), room); // one at a time: the first call starts the inspecting client
        }
        var (total, occupied) = (viewers.Count, rooms.Count);
        await using var watcher = await SseReader.OpenAsync(cluster.FrontEnds[1].Http, $"/groups/{group}/events");
        var seen = new List<GroupCounts>();
        async Task<GroupCounts> NextAsync(Func<GroupCounts, bool> expected, TimeSpan timeout)
        {
            var message = await watcher.WaitForAsync(message =>
            {
                if (message.Event != "group")
                {
                    return false;
                }
                seen.Add(message.Group);
                return expected(message.Group);
            }, timeout);
            return message.Group;
        }

        Assert.Equal((total, total, occupied), Counts(await NextAsync(counts => counts.Connections == total, TimeSpan.FromSeconds(15))));

        var seenBeforeKill = seen.Count;
        var groupSilo = await cluster.SiloHostingAsync(typeof(GroupGrain), group);
        var sinceKill = Stopwatch.StartNew();
        await cluster.RemoveSiloAsync(groupSilo, kill: true);
        // Into a room on the surviving silo: it publishes the join at once, and reports it to the
        // group before the group's silo is declared dead, a report lost with that silo (seen once in
        // ten runs before the reactivated group asked its rooms again; they report every minute).
        var joined = rooms.First(entry => entry.Value != groupSilo).Key;
        await using var newcomer = await SseReader.OpenAsync(cluster.FrontEnds[0].Http, $"/rooms/{joined}/events");

        // A group subscription lost with the silo is healed at the front end's next renewal period (10 s).
        var after = await NextAsync(counts => counts.Connections == total + 1, TimeSpan.FromSeconds(45) - sinceKill.Elapsed);
        Assert.Equal((total + 1, total + 1, occupied), Counts(after));
        Assert.All(seen.Skip(seenBeforeKill), counts => Assert.True(counts.Connections >= total, $"the group was shown {counts} after its silo's death"));
        var snapshot = await cluster.FrontEnds[0].Http.GetFromJsonAsync<GroupCounts>($"/groups/{group}");
        Assert.Equal((total + 1, total + 1, occupied), Counts(snapshot!));
        await Task.WhenAll(viewers.Select(viewer => viewer.DisposeAsync().AsTask()));

        static (int, int, int) Counts(GroupCounts counts) => (counts.Watching, counts.Connections, counts.Rooms);
    }

    [Fact]
    public async Task FrontEndKilled_ItsConnectionsLeaveWithinTheLease_NeverBelowTheTruth()
    {
        const double leaseSeconds = 4;
        await using var cluster = await ProcessCluster.StartAsync(silos: 2, frontEnds: 2, FastCounts, $"Presence:LeaseSeconds={leaseSeconds}");
        var (doomed, survivor) = (cluster.FrontEnds[0], cluster.FrontEnds[1]);
        var held = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => SseReader.OpenAsync(doomed.Http, "/rooms/doomed/events")));
        var watchers = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Watcher.OpenAsync(survivor.Http, "doomed")));
        await Task.WhenAll(watchers.Select(w => w.WaitUntilAsync(w => w.LatestConnections == 105, TimeSpan.FromSeconds(15))));
        var seenBeforeKill = watchers.ToDictionary(w => w, w => w.Counts.Count);

        var sinceKill = Stopwatch.StartNew();
        await cluster.RemoveFrontEndAsync(doomed, kill: true);

        // Lapsed when not renewed for a lease, found by a sweep (a tenth of the lease) and published.
        var bound = TimeSpan.FromSeconds(leaseSeconds * 1.1 + 1);
        await Task.WhenAll(watchers.Select(w => w.WaitUntilAsync(w => w.LatestConnections == 5, bound - sinceKill.Elapsed)));
        Assert.All(watchers, w => Assert.All(w.Counts.Skip(seenBeforeKill[w]), counts => Assert.True(counts.Connections >= 5)));
        await DisposeAllAsync(watchers);
        await Task.WhenAll(held.Select(reader => reader.DisposeAsync().AsTask()));
    }

    [Fact]
    public async Task FrontEndStopped_ReadinessFailsFirst_StreamsEndWithSpreadRetries_LeaveAtOnce_ExitWithin10Seconds()
    {
        // Default leases (30 s): only leaving at once can bring the count down within the bound.
        await using var cluster = await ProcessCluster.StartAsync(silos: 1, frontEnds: 2, FastCounts);
        var (stopping, survivor) = (cluster.FrontEnds[0], cluster.FrontEnds[1]);
        var held = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => SseReader.OpenAsync(stopping.Http, "/rooms/stopped/events")));
        var watcher = await Watcher.OpenAsync(survivor.Http, "stopped");
        await watcher.WaitUntilAsync(w => w.LatestConnections == 21, TimeSpan.FromSeconds(15));
        var farewells = held.Select(LastRetryBeforeTheEndAsync).ToList();

        var sinceStop = Stopwatch.StartNew();
        stopping.Process.Signal(Signals.Term);
        var readinessFailedAfter = await FirstFailingReadinessAsync(stopping.Http, TimeSpan.FromSeconds(5));
        using var newStream = await stopping.Http.GetAsync("/rooms/stopped/events", HttpCompletionOption.ResponseHeadersRead);
        await watcher.WaitUntilAsync(w => w.LatestConnections == 1, TimeSpan.FromSeconds(5));
        await cluster.RemoveFrontEndAsync(stopping, kill: false);
        var exitedAfter = sinceStop.Elapsed;

        Assert.True(readinessFailedAfter < TimeSpan.FromSeconds(1), $"readiness failed {readinessFailedAfter} after SIGTERM");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, newStream.StatusCode);
        Assert.NotNull(newStream.Headers.RetryAfter);
        Assert.True(exitedAfter < TimeSpan.FromSeconds(10), $"the front end took {exitedAfter} to exit");
        var retries = await Task.WhenAll(farewells);
        Assert.All(retries, retry => Assert.InRange(retry, 1000, 5000));
        Assert.True(retries.Distinct().Count() > 1, "every stream was told to come back at the same time");
        Assert.DoesNotContain(watcher.Counts, counts => counts.Connections < 1);
        await Task.WhenAll(held.Select(reader => reader.DisposeAsync().AsTask()));
        await watcher.DisposeAsync();
    }

    /// <summary>Asks <c>/health/ready</c> until it answers 503 (not a refused connection: the process must still be there).</summary>
    private static async Task<TimeSpan> FirstFailingReadinessAsync(HttpClient frontEnd, TimeSpan timeout)
    {
        var asking = Stopwatch.StartNew();
        while (true)
        {
            using var readiness = await frontEnd.GetAsync("/health/ready");
            if (readiness.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                return asking.Elapsed;
            }
            Assert.True(asking.Elapsed < timeout, $"readiness still {readiness.StatusCode} {asking.Elapsed} after SIGTERM");
        }
    }

    /// <summary>The <c>retry:</c> the server sent last before it ended the stream.</summary>
    private static async Task<int> LastRetryBeforeTheEndAsync(SseReader reader)
    {
        int? last = null;
        try
        {
            while (true)
            {
                last = (await reader.NextAsync(TimeSpan.FromSeconds(30))).Retry ?? last;
            }
        }
        catch (EndOfStreamException)
        {
            return last ?? throw new InvalidOperationException("the stream ended without a retry");
        }
    }

    [Fact]
    public async Task ThousandPublishes_WhileASiloIsKilledAndRestarted_EveryAcknowledgedEventReachesEveryWatcherOnceInOrder()
    {
        await using var cluster = await ProcessCluster.StartAsync(silos: 2, frontEnds: 2, FastCounts);
        var watchers = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Watcher.OpenAsync(cluster.FrontEnds[i % 2].Http, "acked")));
        var acknowledged = new List<long>();

        for (var n = 0; n < 1000; n++)
        {
            if (n == 300)
            {
                await cluster.RemoveSiloAsync(await cluster.SiloHostingAsync(typeof(FeedGrain), "acked"), kill: true);
            }
            if (n == 600)
            {
                await cluster.StartSiloAsync();
            }
            acknowledged.Add(await PublishWithRetriesAsync(cluster.FrontEnds[n % 2].Http, "acked", n));
        }

        await Task.WhenAll(watchers.Select(w => w.WaitUntilAsync(w => w.FeedIds.Count > 0 && w.FeedIds[^1] >= acknowledged[^1], TimeSpan.FromSeconds(30))));
        Assert.All(watchers, w =>
        {
            var ids = w.FeedIds;
            Assert.All(ids.Zip(ids.Skip(1)), pair => Assert.True(pair.Second > pair.First, $"{pair.First} then {pair.Second}"));
            Assert.Empty(acknowledged.Except(ids));
        });
        await DisposeAllAsync(watchers);
    }

    [Fact]
    public async Task EveryProcessRestarted_RedisKept_ReplaysExactlyAfterLastEventId_AndIdsContinue()
    {
        await using var cluster = await ProcessCluster.StartAsync(silos: 2, frontEnds: 1, FastCounts);
        for (var n = 0; n < 5; n++)
        {
            await PublishWithRetriesAsync(cluster.FrontEnds[0].Http, "restarted", n);
        }

        foreach (var frontEnd in cluster.FrontEnds.ToList())
        {
            await cluster.RemoveFrontEndAsync(frontEnd, kill: true);
        }
        foreach (var silo in cluster.Silos.ToList())
        {
            await cluster.RemoveSiloAsync(silo, kill: true);
        }
        await Task.WhenAll(cluster.StartSiloAsync(), cluster.StartSiloAsync());
        var frontEndAgain = await cluster.StartFrontEndAsync();

        await using (var reconnected = await SseReader.OpenAsync(frontEndAgain.Http, "/rooms/restarted/events", lastEventId: "2"))
        {
            var replayed = new List<string?>();
            for (var i = 0; i < 3; i++)
            {
                replayed.Add((await reconnected.NextFeedEventAsync()).Id);
            }
            Assert.Equal("3,4,5", string.Join(',', replayed));
            Assert.Equal(6, await PublishWithRetriesAsync(frontEndAgain.Http, "restarted", 5));
            Assert.Equal("6", (await reconnected.NextFeedEventAsync()).Id);
        }
    }

    [Fact]
    public async Task FrontEndKilledAndStartedAgain_ItsClientReconnectsWithLastEventId_AndGetsWhatWasPublishedMeanwhile()
    {
        await using var cluster = await ProcessCluster.StartAsync(silos: 1, frontEnds: 2, FastCounts, "Sse:RetryMilliseconds=500");
        var (restarted, other) = (cluster.FrontEnds[0], cluster.FrontEnds[1]);
        await using var watcher = await Watcher.OpenAsync(restarted.Http, "comeback");
        var before = await PublishWithRetriesAsync(other.Http, "comeback", 0);
        await watcher.WaitUntilAsync(w => w.FeedIds.Contains(before), TimeSpan.FromSeconds(10));

        await cluster.RemoveFrontEndAsync(restarted, kill: true);
        // Published while the watcher's front end is gone: only a replay after its Last-Event-ID can bring them.
        long[] meanwhile = [await PublishWithRetriesAsync(other.Http, "comeback", 1), await PublishWithRetriesAsync(other.Http, "comeback", 2)];
        await cluster.StartFrontEndAsync(restarted.Http.BaseAddress!.Port);
        await watcher.WaitUntilAsync(w => w.FeedIds.Contains(meanwhile[^1]), TimeSpan.FromSeconds(40));
        var after = await PublishWithRetriesAsync(other.Http, "comeback", 3);
        await watcher.WaitUntilAsync(w => w.FeedIds.Contains(after), TimeSpan.FromSeconds(10));

        Assert.Equal([before, .. meanwhile, after], watcher.FeedIds);
        Assert.True(watcher.Reconnects >= 1);
    }

    [Fact]
    public async Task EverySiloKilledAndReplaced_FrontEndsKeepRunning_CountsAndEventsCarryOn()
    {
        await using var cluster = await ProcessCluster.StartAsync(silos: 2, frontEnds: 2, FastCounts);
        var watchers = (await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Watcher.OpenAsync(cluster.FrontEnds[i % 2].Http, "replaced")))).ToList();
        await Task.WhenAll(watchers.Select(w => w.WaitUntilAsync(w => w.LatestConnections == 6, TimeSpan.FromSeconds(15))));
        var first = await PublishWithRetriesAsync(cluster.FrontEnds[0].Http, "replaced", 0);
        var seenBeforeKill = watchers.ToDictionary(w => w, w => w.Counts.Count);

        foreach (var silo in cluster.Silos.ToList())
        {
            await cluster.RemoveSiloAsync(silo, kill: true);
        }
        await Task.WhenAll(cluster.StartSiloAsync(), cluster.StartSiloAsync());
        var second = await PublishWithRetriesAsync(cluster.FrontEnds[1].Http, "replaced", 1);
        watchers.Add(await Watcher.OpenAsync(cluster.FrontEnds[0].Http, "replaced"));

        await Task.WhenAll(watchers.Select(w => w.WaitUntilAsync(w => w.LatestConnections == 7, TimeSpan.FromSeconds(20))));
        await Task.WhenAll(watchers.Take(6).Select(w => w.WaitUntilAsync(w => w.FeedIds.Contains(second), TimeSpan.FromSeconds(20))));
        Assert.All(watchers.Take(6), w =>
        {
            Assert.Equal([first, second], w.FeedIds);
            Assert.All(w.Counts.Skip(seenBeforeKill[w]), counts => Assert.True(counts.Connections >= 6, $"shown {counts}"));
            Assert.Equal(0, w.Reconnects);
        });
        await DisposeAllAsync(watchers);
    }

    [Fact]
    public async Task RedisStoppedFor10Seconds_Publishing503WithRetryAfter_CountsStayLive_NewStreamsCounted_ThenEverythingWorks()
    {
        await using var cluster = await ProcessCluster.StartAsync(silos: 1, frontEnds: 1, FastCounts);
        var frontEnd = cluster.FrontEnds[0].Http;
        Assert.Equal(1, await PublishWithRetriesAsync(frontEnd, "outage", 0));
        var watcher = await Watcher.OpenAsync(frontEnd, "outage");
        var leaving = await Watcher.OpenAsync(frontEnd, "outage");
        await watcher.WaitUntilAsync(w => w.LatestConnections == 2, TimeSpan.FromSeconds(10));

        cluster.Redis.Signal(Signals.Stop);
        var outage = Stopwatch.StartNew();
        using var refused = await PublishAsync(frontEnd, "outage", 1);
        var answeredAfter = outage.Elapsed;
        var joining = await Watcher.OpenAsync(frontEnd, "outage");
        await watcher.WaitUntilAsync(w => w.LatestConnections == 3, TimeSpan.FromSeconds(5));
        await leaving.DisposeAsync();
        await watcher.WaitUntilAsync(w => w.LatestConnections == 2, TimeSpan.FromSeconds(5));
        using var refusedInANewRoom = await PublishAsync(frontEnd, "outage-new-room", 0);
        // As the widget opens: the record that activity reports need cannot be stored; it is counted all the same.
        // (While Redis is away each count change waits up to its 2 s timeout to be stored before it is
        // sent, and the room's grain handles nothing else meanwhile: the join and the leave take turns.)
        await using (var reporting = await SseReader.OpenAsync(frontEnd, "/rooms/outage/events?viewer=carol&activity=true"))
        {
            await watcher.WaitUntilAsync(w => w.LatestConnections == 3, TimeSpan.FromSeconds(10));
        }
        await watcher.WaitUntilAsync(w => w.LatestConnections == 2, TimeSpan.FromSeconds(10));
        var rest = TimeSpan.FromSeconds(10) - outage.Elapsed;
        await Task.Delay(rest > TimeSpan.Zero ? rest : TimeSpan.Zero); // the outage lasts 10 s: the scenario, not a wait for an event
        cluster.Redis.Signal(Signals.Continue);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.True(answeredAfter < TimeSpan.FromSeconds(5), $"the 503 took {answeredAfter}");
        // A room whose feed grain must first read its history from Redis: 503 as well, not 500.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refusedInANewRoom.StatusCode);
        var acknowledged = await PublishWithRetriesAsync(frontEnd, "outage", 2);
        await watcher.WaitUntilAsync(w => w.FeedIds.Contains(acknowledged), TimeSpan.FromSeconds(10));
        Assert.Equal(0, watcher.Reconnects);
        await using var joinedAfter = await Watcher.OpenAsync(frontEnd, "outage");
        await watcher.WaitUntilAsync(w => w.LatestConnections == 3, TimeSpan.FromSeconds(10));
        // The refused publish may still have been stored (Redis ran the queued XADD when it woke
        // up): a 503 means "not acknowledged", not "not stored". Replay is exact either way.
        await using var replay = await SseReader.OpenAsync(frontEnd, "/rooms/outage/events", lastEventId: "0");
        var replayed = new List<long> { long.Parse((await replay.NextFeedEventAsync()).Id!) };
        while (replayed[^1] < acknowledged)
        {
            replayed.Add(long.Parse((await replay.NextFeedEventAsync()).Id!));
        }
        Assert.Equal(1, replayed[0]);
        Assert.Equal(acknowledged, replayed[^1]);
        Assert.Equal(replayed.Order(), replayed);
        await DisposeAllAsync([watcher, joining]);
    }

    [Fact]
    public async Task Silo_ServesMetricsAndItsDashboard_ABadSiloAddressIsA400()
    {
        await using var cluster = await ProcessCluster.StartAsync(silos: 1, frontEnds: 0);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{cluster.Silos[0].HttpPort}") };

        using var page = await http.GetAsync("/dashboard/");
        using var metrics = await http.GetAsync("/metrics");
        using var badAddress = await http.GetAsync("/dashboard/SiloProperties/not-a-silo");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<title>Orleans Dashboard</title>", await page.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("orleans_", await metrics.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.BadRequest, badAddress.StatusCode);
        Assert.Equal("application/problem+json", badAddress.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData("silo", "--ConnectionStrings:Redis=127.0.0.1:1", "is not reachable")]
    [InlineData("silo", "--Orleans:ClusterId=presence", "ConnectionStrings:Redis is not set")]
    [InlineData("frontend", "--ConnectionStrings:Redis=127.0.0.1:1", "is not reachable")]
    [InlineData("frontend", "--Orleans:ClusterId=presence", "ConnectionStrings:Redis is not set")]
    public async Task StartWithoutRedis_ExitsWithOneClearLine(string node, string setting, string expected)
    {
        var dll = node == "silo" ? Build.Silo : Build.WebFrontend;
        await using var process = NodeProcess.Start(node, "dotnet", [dll, setting, "--Orleans:Mode=Client"], Path.GetDirectoryName(dll)!);

        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, exitCode);
        var line = Assert.Single(process.Lines);
        Assert.Contains(expected, line);
    }

    private static Task<HttpResponseMessage> PublishAsync(HttpClient frontEnd, string room, int n) =>
        frontEnd.PostAsJsonAsync($"/rooms/{room}/events", new { type = "numbered", data = new { n } });

    /// <summary>Publishes as a real client would: a 503 or a broken connection is tried again after a moment; returns the id answered with 201.</summary>
    private static async Task<long> PublishWithRetriesAsync(HttpClient frontEnd, string room, int n)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var response = await PublishAsync(frontEnd, room, n);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    var created = await response.Content.ReadFromJsonAsync<Created>();
                    return long.Parse(created!.Id);
                }
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            }
            catch (HttpRequestException) when (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
            }
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), $"event {n} was not accepted within 60 s");
            await Task.Delay(TimeSpan.FromMilliseconds(200)); // a publisher's back-off before trying again
        }
    }

    /// <summary>All at once: closing a stream waits a moment for the rest of the response.</summary>
    private static Task DisposeAllAsync(IEnumerable<Watcher> watchers) =>
        Task.WhenAll(watchers.Select(watcher => watcher.DisposeAsync().AsTask()));

    private sealed record Created(string Id);
}
