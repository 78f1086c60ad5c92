using System.Collections.Immutable;
using Presence.Grains.Interfaces;

namespace Presence.Grains;

/// <summary>
/// The occupied rooms, for <c>GET /rooms?top=N</c>. Presence grains report on every count they
/// publish and on every reminder tick, so a directory that lost its silo fills up again.
/// </summary>
public sealed class RoomDirectoryGrain : Grain, IRoomDirectoryGrain
{
    private readonly Dictionary<string, int> _watching = [];

    public Task ReportAsync(RoomWatching room)
    {
        if (room.Watching > 0)
        {
            _watching[room.Room] = room.Watching;
        }
        else
        {
            _watching.Remove(room.Room);
        }
        return Task.CompletedTask;
    }

    public Task<ImmutableArray<RoomWatching>> GetTopAsync(int count, ImmutableArray<string> hiddenPrefixes) =>
        Task.FromResult(_watching
            .Where(room => !hiddenPrefixes.Any(prefix => room.Key.StartsWith(prefix, StringComparison.Ordinal)))
            .OrderByDescending(room => room.Value)
            .ThenBy(room => room.Key, StringComparer.Ordinal)
            .Take(count)
            .Select(room => new RoomWatching(room.Key, room.Value))
            .ToImmutableArray());
}
