using System.Collections.Immutable;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Presence;

namespace Presence.WebFrontend.Tests;

public sealed class RoomJoinerTests
{
    [Fact]
    public async Task JoinsWhileACallIsUnderWay_GoTogetherInTheNextCall()
    {
        var presence = new HeldPresence();
        var joiner = new RoomJoiner(presence, "front-end");
        var members = Enumerable.Range(0, 4).Select(_ => new Member(Guid.NewGuid(), "viewer")).ToArray();

        var first = joiner.JoinAsync(members[0]);
        await presence.CallArrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var rest = members[1..].Select(joiner.JoinAsync).ToArray();
        presence.Release.SetResult();
        var snapshots = await Task.WhenAll([first, .. rest]).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([[members[0]], members[1..]], presence.Calls.Select(call => call.ToArray()));
        Assert.Equal([1, 4, 4, 4], snapshots.Select(snapshot => snapshot.Connections));
    }

    [Fact]
    public async Task AFailedCall_FailsItsJoins_TakesThemOutAgain_AndTheNextJoinIsSent()
    {
        var presence = new HeldPresence { Failure = new InvalidOperationException("refused") };
        var joiner = new RoomJoiner(presence, "front-end");
        presence.Release.SetResult();
        var failed = new Member(Guid.NewGuid(), "a");

        await Assert.ThrowsAsync<InvalidOperationException>(() => joiner.JoinAsync(failed));
        presence.Failure = null;
        var joined = await joiner.JoinAsync(new Member(Guid.NewGuid(), "b")).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(1, joined.Connections);
        Assert.Equal([failed.ConnectionId], presence.Left);
    }

    /// <summary>A presence grain whose first join call waits until the test releases it.</summary>
    private sealed class HeldPresence : IPresenceGrain
    {
        private int _connections;

        public List<ImmutableArray<Member>> Calls { get; } = [];

        public TaskCompletionSource CallArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Exception? Failure { get; set; }

        public List<Guid> Left { get; } = [];

        public async Task<PresenceChanged> JoinAsync(string frontEnd, ImmutableArray<Member> members)
        {
            Calls.Add(members);
            CallArrived.TrySetResult();
            await Release.Task;
            if (Failure is not null)
            {
                throw Failure;
            }
            _connections += members.Length;
            return new PresenceChanged("room", _connections, _connections, _connections);
        }

        public Task LeaveAsync(Guid connectionId)
        {
            Left.Add(connectionId);
            return Task.CompletedTask;
        }

        public Task<PresenceChanged?> RenewAsync(string frontEnd, Membership membership) => throw new NotSupportedException();

        public Task<PresenceChanged> RenewEachAsync(string frontEnd, ImmutableArray<Member> members) => throw new NotSupportedException();

        public Task ReportActivityAsync(Guid connectionId, bool idle) => throw new NotSupportedException();

        public Task<PresenceChanged> GetAsync() => throw new NotSupportedException();

        public Task ReportAgainAsync() => throw new NotSupportedException();
    }
}
