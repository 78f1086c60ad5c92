using System.Collections.Concurrent;
using Presence.WebFrontend.Observability;
using Presence.WebFrontend.Presence;

namespace Presence.WebFrontend.Sse;

/// <summary>The rooms this front end has local connections in.</summary>
internal sealed class LocalRooms
{
    private readonly ConcurrentDictionary<string, LocalRoom> _rooms = new(StringComparer.Ordinal);
    private readonly IClusterClient _client;
    private readonly string _frontEnd;
    private readonly PresenceMetrics _metrics;
    private readonly ILogger<LocalRoom> _logger;

    public LocalRooms(IClusterClient client, FrontEndIdentity frontEnd, PresenceMetrics metrics, ILogger<LocalRoom> logger) =>
        (_client, _frontEnd, _metrics, _logger) = (client, frontEnd.Id, metrics, logger);

    public ICollection<LocalRoom> All => _rooms.Values;

    /// <summary>Adds the connection to the room, subscribing to the room's streams if it is the first.</summary>
    public async Task<LocalRoom> AttachAsync(string name, SseConnection connection)
    {
        while (true)
        {
            if (!_rooms.TryGetValue(name, out var room))
            {
                var created = new LocalRoom(name, _client, _frontEnd, _metrics, _logger);
                room = _rooms.GetOrAdd(name, created);
                if (room == created)
                {
                    _metrics.RoomOpened();
                }
            }
            try
            {
                await room.Subscribed;
            }
            catch
            {
                Remove(room);
                throw;
            }
            if (room.TryAdd(connection))
            {
                return room;
            }
        }
    }

    /// <summary>Takes the connection out of the room it was attached to, if it was (a room is not dropped while it has a connection).</summary>
    public void Detach(string name, SseConnection connection)
    {
        if (_rooms.TryGetValue(name, out var room))
        {
            room.Remove(connection);
        }
    }

    /// <summary>Drops the room and its subscriptions if its last connection has gone.</summary>
    public async Task<bool> TryCloseAsync(LocalRoom room)
    {
        if (!room.TryClose())
        {
            return false;
        }
        Remove(room);
        await room.CloseAsync();
        return true;
    }

    private void Remove(LocalRoom room)
    {
        if (_rooms.TryRemove(KeyValuePair.Create(room.Name, room)))
        {
            _metrics.RoomClosed();
        }
    }
}
