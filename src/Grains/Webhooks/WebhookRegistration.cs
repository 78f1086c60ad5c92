using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;
using Presence.Grains.Interfaces;

namespace Presence.Grains.Webhooks;

public static class WebhookRegistration
{
    /// <summary>Time a receiver has to answer one attempt.</summary>
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The sender and its HTTP client: an attempt that fails (5xx, 408, 429, no connection, no answer
    /// within 10 s) is retried after an exponential back-off; with the defaults the retries cover
    /// well over a minute. Without jitter, so that the minute holds for every notification.
    /// </summary>
    public static IServiceCollection AddWebhooks(this IServiceCollection services)
    {
        services.AddValidatedOptions<WebhookOptions>(WebhookOptions.Section);
        services.AddSingleton<WebhookSender>();
        // No overall timeout: the attempts have theirs, and the retries take longer than the default 100 s.
        services.AddHttpClient(WebhookSender.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .AddResilienceHandler("webhook-retries", (pipeline, context) =>
            {
                var options = context.ServiceProvider.GetRequiredService<IOptions<WebhookOptions>>().Value;
                pipeline
                    .AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = WebhookOptions.RetryAttempts,
                        BackoffType = DelayBackoffType.Exponential,
                        Delay = options.RetryDelay,
                        MaxDelay = WebhookOptions.MaxRetryDelay,
                        UseJitter = false,
                    })
                    .AddTimeout(AttemptTimeout);
            });
        return services;
    }
}
