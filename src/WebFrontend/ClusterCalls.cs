using Polly;
using Polly.Retry;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend;

/// <summary>
/// Failures of the cluster that pass: a silo that just died (until membership has declared it dead
/// and its grains come back elsewhere), a gateway that went away, storage that did not answer.
/// </summary>
internal static class ClusterCalls
{
    /// <summary>
    /// Retries an idempotent grain call for about 15 s, longer than membership takes to declare a
    /// killed silo dead (its grains then come back elsewhere): a browser's EventSource does not
    /// reconnect after an error status, so a stream open should rather wait than fail.
    /// </summary>
    public static ResiliencePipeline Retry { get; } = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
            MaxRetryAttempts = 10,
            Delay = TimeSpan.FromMilliseconds(200),
            MaxDelay = TimeSpan.FromSeconds(2),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
        })
        .Build();

    /// <summary>
    /// Orleans' own failures (a silo or gateway gone, a message rejected, an activation that could
    /// not load its state), timeouts, storage that did not answer, and a remote call cancelled.
    /// </summary>
    public static bool IsTransient(Exception exception) =>
        exception is OrleansException or TimeoutException or StorageUnavailableException or OperationCanceledException;
}
