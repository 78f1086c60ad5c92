using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Presence.WebFrontend;

/// <summary>
/// An answer telling the client to come back later: <c>Retry-After</c> and a problem body, written
/// whatever the client accepts (an EventSource asks for <c>text/event-stream</c>, for which
/// <see cref="IProblemDetailsService"/> finds no writer).
/// </summary>
internal static class RetryLater
{
    public static ProblemHttpResult Problem(HttpResponse response, int status, string title, int retryAfterSeconds, string? detail = null)
    {
        response.Headers.RetryAfter = retryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Problem(statusCode: status, title: title, detail: detail ?? $"Try again in {retryAfterSeconds} s.");
    }
}
