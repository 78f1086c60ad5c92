using Microsoft.AspNetCore.Diagnostics;

namespace Presence.WebFrontend;

/// <summary>A transient failure of the cluster is a 503 with <c>Retry-After</c>, never a 500.</summary>
internal sealed partial class ClusterUnavailableHandler(IProblemDetailsService problems, ILogger<ClusterUnavailableHandler> logger)
    : IExceptionHandler
{
    public const int RetryAfterSeconds = 2;

    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (!ClusterCalls.IsTransient(exception) || context.Response.HasStarted)
        {
            return false;
        }
        LogUnavailable(context.Request.Method, context.Request.Path, exception.GetType().Name, exception.Message);
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        // Nothing to write for a client that accepts no problem JSON (an EventSource): the 503 and
        // Retry-After still tell it.
        await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "The cluster is unavailable for a moment",
                Detail = $"Try again in {RetryAfterSeconds} s.",
            },
        });
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path}: 503, the cluster is unavailable ({Type}: {Reason})")]
    private partial void LogUnavailable(string method, string path, string type, string reason);
}
