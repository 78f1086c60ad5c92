using Presence.Grains.Interfaces;

namespace Presence.Grains.Tests;

[Collection(nameof(DefaultCluster))]
public sealed class DirectoryAndConnectionTests(DefaultCluster fixture)
{
    [Fact]
    public async Task ConnectionGrain_KeepsTheRecordAndItsRoomsUntilForgotten_AcrossActivations()
    {
        var connection = fixture.Client.GetGrain<IConnectionGrain>(Guid.NewGuid());
        string[] rooms = [$"room-{Guid.NewGuid():N}", $"other-{Guid.NewGuid():N}"];
        var identity = new ConnectionIdentity(rooms[0], "viewer-1", "front-end-1", DateTimeOffset.UtcNow, [.. rooms]);

        await connection.RecordAsync(identity);
        await fixture.Cluster.DeactivateAsync(connection);
        var recorded = await connection.GetAsync();
        await connection.ForgetAsync();

        Assert.NotNull(recorded);
        Assert.Equal(rooms, recorded.Rooms);
        Assert.Equal(identity, recorded with { Rooms = identity.Rooms });
        Assert.Null(await connection.GetAsync());
    }

    [Fact]
    public async Task Directory_ListsOccupiedRooms_MostWatchedFirst()
    {
        var (busy, quiet) = ($"busy-{Guid.NewGuid():N}", $"quiet-{Guid.NewGuid():N}");
        await using var busyWatcher = await StreamProbe<PresenceChanged>.SubscribeAsync(
            fixture.Client, RoomStreams.ProviderName, RoomStreams.Presence(busy));
        await using var quietWatcher = await StreamProbe<PresenceChanged>.SubscribeAsync(
            fixture.Client, RoomStreams.ProviderName, RoomStreams.Presence(quiet));
        for (var i = 0; i < 3; i++)
        {
            await fixture.Client.GetGrain<IPresenceGrain>(busy).JoinAsync("fe", [new Member(Guid.NewGuid(), $"v{i}")]);
        }
        await fixture.Client.GetGrain<IPresenceGrain>(quiet).JoinAsync("fe", [new Member(Guid.NewGuid(), "v")]);
        await busyWatcher.WaitForAsync(change => change.Watching == 3);
        await quietWatcher.WaitForAsync(change => change.Watching == 1);

        var top = await fixture.Client.GetGrain<IRoomDirectoryGrain>(0).GetTopAsync(1000, []);

        var ours = top.Where(room => room.Room == busy || room.Room == quiet).ToList();
        Assert.Equal([new RoomWatching(busy, 3), new RoomWatching(quiet, 1)], ours);
    }
}
