namespace Presence.WebFrontend.Observability;

/// <summary>
/// Counts the publish requests by outcome, read from the final status of the response: whether the
/// rate limiter, the key check, the body rules, the feed grain or the exception handler answered.
/// </summary>
internal static class PublishOutcomes
{
    /// <summary>Marks the endpoint whose requests are counted.</summary>
    private sealed class Counted;

    private static readonly Counted Marker = new();

    public static RouteHandlerBuilder CountPublishOutcomes(this RouteHandlerBuilder endpoint) => endpoint.WithMetadata(Marker);

    /// <summary>Outside the exception handler (which answers 503 for a cluster outage), after routing.</summary>
    public static IApplicationBuilder UsePublishOutcomes(this IApplicationBuilder app)
    {
        var metrics = app.ApplicationServices.GetRequiredService<PresenceMetrics>();
        return app.Use((context, next) => context.GetEndpoint()?.Metadata.GetMetadata<Counted>() is null
            ? next(context)
            : CountAsync(context, next, metrics));
    }

    private static async Task CountAsync(HttpContext context, RequestDelegate next, PresenceMetrics metrics)
    {
        try
        {
            await next(context);
        }
        finally
        {
            metrics.Published(Outcome(context.Response.StatusCode));
        }
    }

    private static string Outcome(int status) => status switch
    {
        StatusCodes.Status201Created => "created",
        StatusCodes.Status400BadRequest => "invalid",
        StatusCodes.Status401Unauthorized => "unauthorized",
        StatusCodes.Status403Forbidden => "forbidden",
        StatusCodes.Status413PayloadTooLarge => "too_large",
        StatusCodes.Status429TooManyRequests => "rate_limited",
        StatusCodes.Status503ServiceUnavailable => "unavailable",
        _ => "error",
    };
}
