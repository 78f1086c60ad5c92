using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
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

        await connection.RecordAsync(identity, activityToken: null);
        await fixture.Cluster.DeactivateAsync(connection);
        var recorded = await connection.GetAsync();
        await connection.ForgetAsync();

        Assert.NotNull(recorded);
        Assert.Equal(rooms, recorded.Rooms);
        Assert.Equal((identity.Room, identity.ViewerId, identity.FrontEnd, identity.OpenedAt), (recorded.Room, recorded.ViewerId, recorded.FrontEnd, recorded.OpenedAt));
        Assert.Null(await connection.GetAsync());
    }

    [Fact]
    public async Task ConnectionGrains_Forgotten_LeaveNothingInTheEmbeddedStorage()
    {
        // Orleans' memory storage kept a key for each: the embedded process grew with every connection ever opened.
        var storage = Assert.IsType<ProcessGrainStorage>(fixture.RoomsStorage);
        var connections = Enumerable.Range(0, 200).Select(_ => fixture.Client.GetGrain<IConnectionGrain>(Guid.NewGuid())).ToList();
        var identity = new ConnectionIdentity("room", "viewer-1", "front-end-1", DateTimeOffset.UtcNow);
        var before = storage.Count;

        await Task.WhenAll(connections.Select(connection => connection.RecordAsync(identity, activityToken: null)));
        var recorded = storage.Count;
        await Task.WhenAll(connections.Select(connection => connection.ForgetAsync()));
        var forgotten = storage.Count;

        // Other tests' rooms may store or clear a state meanwhile: a few, not hundreds.
        Assert.InRange(recorded - before, 190, 210);
        Assert.InRange(forgotten - before, -10, 10);
    }

    [Fact]
    public void ConnectionIdentity_KeepsItsRoomsThroughSerialization_ARecordWithoutRoomsIsInItsRoom()
    {
        var serializer = fixture.Cluster.Silos[0].ServiceProvider.GetRequiredService<Serializer>();
        var multiplexed = new ConnectionIdentity("a", "viewer-1", "front-end-1", DateTimeOffset.UtcNow, ["a", "b"]);
        // A record stored before the list existed (or written without one) has none.
        var single = new ConnectionIdentity("a", "viewer-1", "front-end-1", DateTimeOffset.UtcNow);

        Assert.Equal<string>(["a", "b"], serializer.Deserialize<ConnectionIdentity>(serializer.SerializeToArray(multiplexed))!.Rooms);
        Assert.Equal<string>(["a"], single.Rooms);
        Assert.Equal<string>(["a"], serializer.Deserialize<ConnectionIdentity>(serializer.SerializeToArray(single))!.Rooms);
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
