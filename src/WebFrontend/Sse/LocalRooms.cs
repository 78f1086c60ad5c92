using System.Collections.Concurrent;
using Presence.WebFrontend.Presence;

namespace Presence.WebFrontend.Sse;

/// <summary>The rooms this front end has local connections in.</summary>
internal sealed class LocalRooms
{
    private readonly ConcurrentDictionary<string, LocalRoom> _rooms = new(StringComparer.Ordinal);
    private readonly IClusterClient _client;
    private readonly string _frontEnd;
    private readonly ILogger<LocalRoom> _logger;

    public LocalRooms(IClusterClient client, FrontEndIdentity frontEnd, ILogger<LocalRoom> logger) =>
        (_client, _frontEnd, _logger) = (client, frontEnd.Id, logger);

    public ICollection<LocalRoom> All => _rooms.Values;

    /// <summary>Adds the connection to the room, subscribing to the room's streams if it is the first.</summary>
    public async Task<LocalRoom> AttachAsync(string name, SseConnection connection)
    {
        while (true)
        {
            var room = _rooms.GetOrAdd(name, static (name, rooms) => new LocalRoom(name, rooms._client, rooms._frontEnd, rooms._logger), this);
            try
            {
                await room.Subscribed;
            }
            catch
            {
                _rooms.TryRemove(KeyValuePair.Create(name, room));
                throw;
            }
            if (room.TryAdd(connection))
            {
                return room;
            }
        }
    }

    /// <summary>Drops the room and its subscriptions if its last connection has gone.</summary>
    public async Task<bool> TryCloseAsync(LocalRoom room)
    {
        if (!room.TryClose())
        {
            return false;
        }
        _rooms.TryRemove(KeyValuePair.Create(room.Name, room));
        await room.CloseAsync();
        return true;
    }
}
