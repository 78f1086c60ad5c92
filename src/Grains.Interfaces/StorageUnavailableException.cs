namespace Presence.Grains.Interfaces;

/// <summary>
/// The cluster's storage (Redis in cluster mode) did not answer in time. Transient: the call may be
/// tried again later; front ends answer 503 with <c>Retry-After</c>.
/// </summary>
[GenerateSerializer, Alias("presence.storage-unavailable")]
public sealed class StorageUnavailableException(string message) : Exception(message);
