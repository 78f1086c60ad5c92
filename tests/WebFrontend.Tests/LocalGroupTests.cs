using System.IO.Pipelines;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Groups;
using Presence.WebFrontend.Observability;
using Presence.WebFrontend.Sse;
using static Presence.WebFrontend.Tests.PipeText;

namespace Presence.WebFrontend.Tests;

[Collection(nameof(PresenceFactory))]
public sealed class LocalGroupTests(PresenceFactory factory)
{
    [Fact]
    public async Task SubscriptionLostSilently_TheSnapshotReachesWatchers_ThenTheStreamIsSubscribedAgain()
    {
        var name = $"group-{Guid.NewGuid():N}";
        var client = factory.Services.GetRequiredService<IClusterClient>();
        var grain = client.GetGrain<IGroupGrain>(name);
        var group = new LocalGroup(name, client, factory.Services.GetRequiredService<PresenceMetrics>(), factory.Services.GetRequiredService<CountPacing>(), NullLogger.Instance);
        await group.Subscribed;
        var connection = SseConnectionTests.NewConnection(maxPendingEvents: 10);
        var pipe = new Pipe();
        using var stop = new CancellationTokenSource();
        var run = connection.RunAsync(pipe.Writer, stop.Token);
        Assert.True(group.TryAdd(connection));

        await group.CloseAsync(); // the subscription is lost silently, as when a silo dies
        await grain.ReportAsync(new GroupPart($"{name}:lost", IsGroup: false, 3, 3, 1, Version: 1));
        // A check finds the group at the new sums; by the next one the stream has still not delivered them.
        var lost = await WaitForSumsAsync(grain, watching: 3);
        await group.CheckSubscriptionAsync(lost);
        Assert.Contains("\"watching\":3,", await ReadUntilAsync(pipe.Reader, $"\"version\":{lost.Version}}}\n\n"));
        await group.CheckSubscriptionAsync(await grain.GetAsync());
        await grain.ReportAsync(new GroupPart($"{name}:live", IsGroup: false, 4, 4, 1, Version: 1));

        var live = "";
        while (!live.Contains("\"watching\":7,", StringComparison.Ordinal))
        {
            live = await ReadUntilAsync(pipe.Reader, "}\n\n");
        }
        await stop.CancelAsync();
        await run.WaitAsync(WaitLimit);
    }

    /// <summary>Reports are one-way: reads the group until it shows them.</summary>
    private static async Task<GroupChanged> WaitForSumsAsync(IGroupGrain grain, int watching)
    {
        using var timeout = new CancellationTokenSource(WaitLimit);
        while (true)
        {
            var sums = await grain.GetAsync().WaitAsync(timeout.Token);
            if (sums.Watching == watching)
            {
                return sums;
            }
            await Task.Yield();
        }
    }
}
