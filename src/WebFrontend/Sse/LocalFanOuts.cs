using System.Collections.Concurrent;

namespace Presence.WebFrontend.Sse;

/// <summary>The rooms (or groups) this front end has local connections in, by name.</summary>
internal abstract class LocalFanOuts<T>
    where T : LocalFanOut
{
    private readonly ConcurrentDictionary<string, T> _all = new(StringComparer.Ordinal);

    public ICollection<T> All => _all.Values;

    /// <summary>
    /// Every local connection of every one of them, enumerated live; a multiplexed connection,
    /// attached to several rooms, once (by its first room).
    /// </summary>
    public IEnumerable<SseConnection> Connections =>
        _all.SelectMany(entry => entry.Value.Connections.Where(connection => connection.IsListedIn(entry.Key)));

    /// <summary>Adds the connection, subscribing to the streams if it is the first.</summary>
    public async Task<T> AttachAsync(string name, SseConnection connection)
    {
        while (true)
        {
            if (!_all.TryGetValue(name, out var fanOut))
            {
                var created = Create(name);
                fanOut = _all.GetOrAdd(name, created);
                if (fanOut == created)
                {
                    Opened();
                }
            }
            try
            {
                await fanOut.Subscribed;
            }
            catch
            {
                Remove(fanOut);
                throw;
            }
            if (fanOut.TryAdd(connection))
            {
                return fanOut;
            }
        }
    }

    /// <summary>Takes the connection out of the one it was attached to, if it was (one is not dropped while it has a connection).</summary>
    public void Detach(string name, SseConnection connection)
    {
        if (_all.TryGetValue(name, out var fanOut))
        {
            fanOut.Remove(connection);
        }
    }

    /// <summary>Drops it and its subscriptions if its last connection has gone.</summary>
    public async Task<bool> TryCloseAsync(T fanOut)
    {
        if (!fanOut.TryClose())
        {
            return false;
        }
        Remove(fanOut);
        await fanOut.CloseAsync();
        return true;
    }

    protected abstract T Create(string name);

    protected virtual void Opened()
    {
    }

    protected virtual void Closed()
    {
    }

    private void Remove(T fanOut)
    {
        if (_all.TryRemove(KeyValuePair.Create(fanOut.Name, fanOut)))
        {
            Closed();
        }
    }
}
