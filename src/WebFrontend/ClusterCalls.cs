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
    /// <summary>Retries an idempotent grain call through a silo failure: about 6 s in all, with jitter.</summary>
    public static ResiliencePipeline Retry { get; } = new ResiliencePipelineBuilder()
        .AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
            MaxRetryAttempts = 5,
            Delay = TimeSpan.FromMilliseconds(200),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
        })
        .Build();

    public static bool IsTransient(Exception exception) =>
        exception is OrleansException or TimeoutException or StorageUnavailableException;
}
