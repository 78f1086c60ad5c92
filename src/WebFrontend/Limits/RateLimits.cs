using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Presence.WebFrontend.Limits;

/// <summary>Request rates (section <c>RateLimits</c>); each a token bucket refilled every second.</summary>
public sealed class RateLimitsOptions
{
    public const string Section = "RateLimits";

    /// <summary>Publishes per second per publish key.</summary>
    [Range(1, 1_000_000)]
    public int PublishPerSecond { get; set; } = 1000;

    [Range(1, 1_000_000)]
    public int PublishBurst { get; set; } = 2000;

    /// <summary>Stream opens per second per client address; 0 (the default) is no limit: thousands of viewers may share one address behind a NAT.</summary>
    [Range(0, 1_000_000)]
    public int StreamOpensPerSecond { get; set; }

    [Range(1, 1_000_000)]
    public int StreamOpensBurst { get; set; } = 100;

    /// <summary>Reverse proxies whose <c>X-Forwarded-For</c> gives the client address; from any other peer it is ignored.</summary>
    public string[] KnownProxies { get; set; } = [];
}

/// <summary>ASP.NET Core's rate limiter: its policies, and a 429 with <c>Retry-After</c> and a problem body.</summary>
internal static class RateLimits
{
    public const string Publish = "publish";
    public const string StreamOpens = "stream-opens";

    public static IServiceCollection AddPresenceRateLimits(this IServiceCollection services)
    {
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitsOptions>>((limiter, options) =>
        {
            var limits = options.Value;
            limiter.AddPolicy(Publish, http => RateLimitPartition.GetTokenBucketLimiter(
                http.Request.Headers.Authorization.ToString(), _ => Bucket(limits.PublishPerSecond, limits.PublishBurst)));
            limiter.AddPolicy(StreamOpens, http => RateLimitPartition.GetTokenBucketLimiter(
                http.Connection.RemoteIpAddress?.ToString() ?? "", _ => Bucket(limits.StreamOpensPerSecond, limits.StreamOpensBurst)));
            limiter.OnRejected = RejectAsync;
        });
        services.AddRateLimiter(_ => { });
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<RateLimitsOptions>>((forwarded, options) =>
        {
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor;
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var proxy in options.Value.KnownProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy));
            }
        });
        return services;
    }

    /// <summary>Stream opens are limited only when configured: the limiter holds its state for the life of each stream.</summary>
    public static RouteHandlerBuilder LimitStreamOpens(this RouteHandlerBuilder stream, IServiceProvider services) =>
        services.GetRequiredService<IOptions<RateLimitsOptions>>().Value.StreamOpensPerSecond > 0 ? stream.RequireRateLimiting(StreamOpens) : stream;

    private static TokenBucketRateLimiterOptions Bucket(int perSecond, int burst) => new()
    {
        TokensPerPeriod = perSecond,
        TokenLimit = burst,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
        QueueLimit = 0,
    };

    private static async ValueTask RejectAsync(OnRejectedContext rejected, CancellationToken cancellationToken)
    {
        var http = rejected.HttpContext;
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)) : 1;
        await RetryLater.Problem(http.Response, StatusCodes.Status429TooManyRequests, "Too many requests", retryAfter).ExecuteAsync(http);
    }
}
