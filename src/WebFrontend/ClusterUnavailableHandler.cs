using Microsoft.AspNetCore.Diagnostics;

namespace Presence.WebFrontend;

/// <summary>A transient failure of the cluster is a 503 with <c>Retry-After</c>, never a 500.</summary>
internal sealed partial class ClusterUnavailableHandler(ILogger<ClusterUnavailableHandler> logger)
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
        await RetryLater.Problem(context.Response, StatusCodes.Status503ServiceUnavailable, "The cluster is unavailable for a moment", RetryAfterSeconds)
            .ExecuteAsync(context);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Method} {Path}: 503, the cluster is unavailable ({Type}: {Reason})")]
    private partial void LogUnavailable(string method, string path, string type, string reason);
}
