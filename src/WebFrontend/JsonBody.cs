using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Presence.WebFrontend;

/// <summary>A request body read as JSON, of at most a given size; anything else is a 4xx problem.</summary>
internal static class JsonBody
{
    /// <summary>The parsed body (the caller disposes it), or the problem to answer with.</summary>
    public static async Task<(JsonDocument? Body, ProblemHttpResult? Problem)> ReadAsync(HttpContext context, int maxBytes)
    {
        var request = context.Request;
        if (request.ContentLength > maxBytes)
        {
            return (null, TooLarge(maxBytes));
        }
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = maxBytes;
        }

        try
        {
            return (await JsonDocument.ParseAsync(request.Body, cancellationToken: context.RequestAborted), null);
        }
        catch (JsonException exception)
        {
            return (null, Problem(StatusCodes.Status400BadRequest, "The body is not valid JSON", exception.Message));
        }
        catch (IOException exception)
        {
            // Kestrel's verdict on the body: over the limit (413), too slow (408), or malformed (bad
            // chunked encoding, cut short); a chunk size that overflows comes as a bare IOException.
            var status = (exception as BadHttpRequestException)?.StatusCode ?? StatusCodes.Status400BadRequest;
            return (null, status == StatusCodes.Status413PayloadTooLarge
                ? TooLarge(maxBytes)
                : Problem(status, "The body could not be read", exception.Message));
        }
    }

    private static ProblemHttpResult TooLarge(int maxBytes) =>
        Problem(StatusCodes.Status413PayloadTooLarge, "The body is too large", $"At most {maxBytes} bytes.");

    private static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);
}
