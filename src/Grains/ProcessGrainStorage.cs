using System.Collections.Concurrent;
using Orleans.Serialization;
using Orleans.Storage;

namespace Presence.Grains;

/// <summary>
/// Grain state in this process's memory, for the embedded default where one process is the whole
/// cluster. Orleans' memory storage keeps the key of every state ever cleared (its etag check
/// remembers that the state existed), and every connection clears its record when it closes: in the
/// soak (3,000 connections a minute) that was a key per connection ever opened, the floor of the
/// memory rising about 0.8 MB a minute for the hour. A state cleared here leaves nothing behind.
/// States are kept serialized, so that a grain's later changes reach storage only when written.
/// </summary>
internal sealed class ProcessGrainStorage(Serializer serializer) : IGrainStorage
{
    private readonly ConcurrentDictionary<(string StateName, GrainId Grain), Stored> _states = new();

    /// <summary>How many states are stored.</summary>
    public int Count => _states.Count;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_states.TryGetValue((stateName, grainId), out var stored))
        {
            grainState.State = serializer.Deserialize<T>(stored.State);
            grainState.ETag = stored.ETag;
            grainState.RecordExists = true;
        }
        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = (stateName, grainId);
        CheckETag(key, grainState.ETag);
        var stored = new Stored(serializer.SerializeToArray(grainState.State), Guid.NewGuid().ToString("N"));
        _states[key] = stored;
        grainState.ETag = stored.ETag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = (stateName, grainId);
        CheckETag(key, grainState.ETag);
        _states.TryRemove(key, out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    /// <summary>A write or clear must come from the activation that read or wrote the stored state last.</summary>
    private void CheckETag((string StateName, GrainId Grain) key, string? expected)
    {
        var current = _states.TryGetValue(key, out var stored) ? stored.ETag : null;
        if (current != expected)
        {
            throw new InconsistentStateException($"The stored state {key.StateName} of {key.Grain} changed since it was read", current, expected);
        }
    }

    private sealed record Stored(byte[] State, string ETag);
}
