using Presence.Grains.Interfaces;

namespace Presence.Grains.Tests;

[Collection(nameof(DefaultCluster))]
public sealed class GroupGrainTests(DefaultCluster fixture)
{
    private const string FrontEnd = "front-end-1";

    private static string NewGroup() => $"group-{Guid.NewGuid():N}";

    private Task<StreamProbe<GroupChanged>> WatchAsync(string group) =>
        StreamProbe<GroupChanged>.SubscribeAsync(fixture.Client, RoomStreams.ProviderName, RoomStreams.Group(group));

    private Task<PresenceChanged> JoinAsync(string room, params Member[] members) =>
        fixture.Client.GetGrain<IPresenceGrain>(room).JoinAsync(FrontEnd, [.. members]);

    private static (int Watching, int Connections, int Rooms) Sums(GroupChanged group) => (group.Watching, group.Connections, group.Rooms);

    [Fact]
    public async Task Rooms_ThreeLevelsDeep_EachGroupSumsTheOccupiedRoomsBelowIt()
    {
        var top = NewGroup();
        await using var topWatcher = await WatchAsync(top);
        await using var middleWatcher = await WatchAsync($"{top}:a");
        await using var bottomWatcher = await WatchAsync($"{top}:a:b");

        await JoinAsync($"{top}:a:b:r1", Members.New("alice"), Members.New("alice"), Members.New("bob"));
        await JoinAsync($"{top}:a:b:r2", Members.New("alice"));
        await JoinAsync($"{top}:a:r3", Members.New());
        await JoinAsync($"{top}:r4", Members.New(), Members.New());
        await JoinAsync($"{top}:a:b", Members.New()); // a room named like a group: it is in the groups above it only

        var bottom = await bottomWatcher.WaitForAsync(sums => sums.Rooms == 2);
        Assert.Equal((3, 4, 2), Sums(bottom)); // alice counts once in each of her two rooms
        var middle = await middleWatcher.WaitForAsync(sums => sums.Rooms == 4);
        Assert.Equal((5, 6, 4), Sums(middle));
        var whole = await topWatcher.WaitForAsync(sums => sums.Rooms == 5);
        Assert.Equal((7, 8, 5), Sums(whole));
        Assert.Equal(whole, await fixture.Client.GetGrain<IGroupGrain>(top).GetAsync());
        Assert.All(new[] { bottomWatcher, middleWatcher, topWatcher }, watcher => Assert.Equal(
            watcher.Received.Select(sums => sums.Version).Order(), watcher.Received.Select(sums => sums.Version)));
    }

    [Fact]
    public async Task Room_Emptied_LeavesTheSumsOfEveryGroupAboveIt()
    {
        var top = NewGroup();
        var (leaving, staying) = (Members.New(), Members.New());
        await using var topWatcher = await WatchAsync(top);
        await JoinAsync($"{top}:a:emptied", leaving);
        await JoinAsync($"{top}:a:kept", staying);
        await topWatcher.WaitForAsync(sums => sums.Rooms == 2);

        await fixture.Client.GetGrain<IPresenceGrain>($"{top}:a:emptied").LeaveAsync(leaving.ConnectionId);

        var after = await topWatcher.WaitForAsync(sums => sums.Rooms == 1);
        Assert.Equal((1, 1, 1), Sums(after));
        Assert.Equal((1, 1, 1), Sums(await fixture.Client.GetGrain<IGroupGrain>($"{top}:a").GetAsync()));
    }

    [Fact]
    public async Task Group_Reactivated_ShowsTheSumsItHadAndNoDrop()
    {
        var top = NewGroup();
        await using var watcher = await WatchAsync(top);
        await JoinAsync($"{top}:r", Members.New(), Members.New());
        var before = await watcher.WaitForAsync(sums => sums.Rooms == 1);

        var group = fixture.Client.GetGrain<IGroupGrain>(top);
        await fixture.Cluster.DeactivateAsync(group);

        var after = await group.GetAsync();
        Assert.Equal(Sums(before), Sums(after));
        Assert.True(after.Version >= before.Version);
    }

    [Fact]
    public async Task Group_ReactivatedWithoutAReportThatWasLost_AsksItsRoomsAgain_ShowsTheTruthAtOnce()
    {
        var top = NewGroup();
        var group = fixture.Client.GetGrain<IGroupGrain>(top);
        await using var watcher = await WatchAsync(top);
        await JoinAsync($"{top}:r", Members.New());
        await watcher.WaitForAsync(sums => sums.Connections == 1); // published, so stored before
        var storedWithOne = (await fixture.ReadStoredAsync(group)).State;
        await JoinAsync($"{top}:r", Members.New());
        var two = await watcher.WaitForAsync(sums => sums.Connections == 2);

        // As when the group's silo died after storing the sums of one connection, and the room's
        // report of the second (a one-way call) went to that silo before it was declared dead.
        await fixture.Cluster.DeactivateAsync(group);
        var stored = await fixture.ReadStoredAsync(group);
        stored.State = storedWithOne;
        await fixture.RoomsStorage.WriteStateAsync("group", group.GetGrainId(), stored);
        await group.GetAsync();

        // The room reports again every 30 s (its lease): the answer to the group's request comes first.
        var after = await watcher.WaitForAsync(sums => sums.Version > two.Version, TimeSpan.FromSeconds(5));
        Assert.Equal((2, 2, 1), Sums(after));
    }

    [Fact]
    public async Task PrivateRoom_CountsInPrivateGroupsOnly()
    {
        var team = $"private:{NewGroup()}";
        await using var teamWatcher = await WatchAsync(team);
        await JoinAsync($"{team}:a:r", Members.New());

        var sums = await teamWatcher.WaitForAsync(sums => sums.Rooms == 1);

        Assert.Equal((1, 1, 1), Sums(sums));
        Assert.Equal((0, 0, 0), Sums(await fixture.Client.GetGrain<IGroupGrain>("private").GetAsync()));
    }

    [Theory]
    [InlineData("sports:football:match42", "sports:football")]
    [InlineData("sports:football", "sports")]
    [InlineData("sports", null)]
    [InlineData(":sports", null)]
    [InlineData("a::b", "a:")]
    [InlineData("a:", "a")]
    [InlineData("private:team:a", "private:team")]
    [InlineData("private:team", null)] // a private name reports to no public group
    [InlineData("privateer:x", "privateer")]
    public void ParentOf_IsTheNameUpToItsLastColon_NeverPublicAbovePrivate(string name, string? parent) =>
        Assert.Equal(parent, Groups.ParentOf(name, new PrivateRoomsOptions()));
}
