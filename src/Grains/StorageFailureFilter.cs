using Orleans.Persistence.Redis;
using Presence.Grains.Interfaces;
using StackExchange.Redis;

namespace Presence.Grains;

/// <summary>
/// Turns a storage failure inside a grain call into a <see cref="StorageUnavailableException"/>, so
/// that callers see one transient failure type whatever the storage behind it.
/// </summary>
internal sealed class StorageFailureFilter : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception exception) when (exception is RedisException or RedisTimeoutException or RedisStorageException)
        {
            throw new StorageUnavailableException($"Storage did not answer: {exception.Message}");
        }
    }
}
