using Orleans.Persistence.Redis;
using Presence.Grains.Interfaces;
using StackExchange.Redis;

namespace Presence.Grains;

/// <summary>
/// Turns a storage failure inside a grain call into a <see cref="StorageUnavailableException"/>, so
/// that callers see one transient failure type whatever the storage behind it (Redis' own exception
/// types cannot even cross the wire: Orleans has no codec for them).
/// </summary>
internal sealed class StorageFailureFilter : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception exception) when (IsStorageFailure(exception))
        {
            throw Unavailable(exception);
        }
    }

    public static bool IsStorageFailure(Exception exception) =>
        exception is RedisException or RedisTimeoutException or RedisStorageException;

    public static StorageUnavailableException Unavailable(Exception exception) =>
        new($"Storage did not answer: {exception.Message}");
}
