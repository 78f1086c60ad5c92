using System.Text;
using Presence.Grains.Interfaces;

namespace Presence.Grains.Tests;

[Collection(nameof(DefaultCluster))]
public sealed class FeedGrainTests(DefaultCluster fixture)
{
    private static string NewRoom() => $"room-{Guid.NewGuid():N}";

    private static async Task PublishAsync(IFeedGrain feed, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await feed.PublishAsync("message", Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"));
        }
    }

    [Fact]
    public async Task Publish_IdsIncreaseStrictly_AndSurviveDeactivation()
    {
        var feed = fixture.Client.GetGrain<IFeedGrain>(NewRoom());
        var first = await feed.PublishAsync("message", "1"u8.ToArray());
        var second = await feed.PublishAsync("message", "2"u8.ToArray());

        await fixture.Cluster.DeactivateAsync(feed);
        var third = await feed.PublishAsync("message", "3"u8.ToArray());

        Assert.Equal([1L, 2L, 3L], [first.Id, second.Id, third.Id]);
        Assert.Equal(3, await feed.GetLastIdAsync());
    }

    [Fact]
    public async Task History_IsBoundedToHistorySize_AndReportsTheGap()
    {
        var feed = fixture.Client.GetGrain<IFeedGrain>(NewRoom());
        await PublishAsync(feed, ClusterFixture.HistorySize + 3);

        var replay = await feed.GetAfterAsync(0);

        Assert.Equal(new FeedGap(1, 3), replay.Gap);
        Assert.Equal([4L, 5L, 6L, 7L, 8L], replay.Events.Select(e => e.Id));
    }

    [Theory]
    [InlineData(5, new long[] { 6, 7, 8 })]
    [InlineData(7, new long[] { 8 })]
    [InlineData(8, new long[0])]
    [InlineData(1000, new long[0])]
    public async Task GetAfter_ReturnsExactlyTheEventsAfterTheId(long lastEventId, long[] expected)
    {
        var feed = fixture.Client.GetGrain<IFeedGrain>(NewRoom());
        await PublishAsync(feed, ClusterFixture.HistorySize + 3);

        var replay = await feed.GetAfterAsync(lastEventId);

        Assert.Null(replay.Gap);
        Assert.Equal(expected, replay.Events.Select(e => e.Id));
    }

    [Fact]
    public async Task Publish_EmitsTheStoredEventOnTheFeedStream()
    {
        var room = NewRoom();
        await using var watcher = await StreamProbe<FeedEvent>.SubscribeAsync(
            fixture.Client, RoomStreams.ProviderName, RoomStreams.Feed(room));

        var published = await fixture.Client.GetGrain<IFeedGrain>(room).PublishAsync("goal", """{"team":"home"}"""u8.ToArray());
        var received = await watcher.WaitForAsync(_ => true);

        Assert.NotNull(published.PublishedAt);
        Assert.All(new[] { published, received }, feedEvent => Assert.Equal(
            (room, 1L, "goal", """{"team":"home"}""", published.PublishedAt),
            (feedEvent.Room, feedEvent.Id, feedEvent.Type, Encoding.UTF8.GetString(feedEvent.Data.Span), feedEvent.PublishedAt)));
    }
}
