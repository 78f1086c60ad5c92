using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Presence.Client;

/// <summary>The service answered with an error: its status, its <c>Retry-After</c> and its problem JSON.</summary>
public sealed class PresenceException : Exception
{
    /// <summary>An error answer.</summary>
    /// <param name="statusCode">The HTTP status.</param>
    /// <param name="retryAfter">When the service asked to be tried again, if it did.</param>
    /// <param name="problem">The problem JSON of the answer (<c>application/problem+json</c>), if it had one.</param>
    public PresenceException(HttpStatusCode statusCode, TimeSpan? retryAfter, JsonElement? problem)
        : base(MessageOf(statusCode, problem))
    {
        StatusCode = statusCode;
        RetryAfter = retryAfter;
        Problem = problem;
    }

    /// <summary>The HTTP status of the answer.</summary>
    public HttpStatusCode StatusCode { get; }

    /// <summary>The answer's <c>Retry-After</c> (429 and 503 carry one), or null.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>The answer's problem JSON (<c>type</c>, <c>title</c>, <c>status</c>, <c>detail</c>), or null if it had none.</summary>
    public JsonElement? Problem { get; }

    /// <summary>The problem's <c>title</c>, or null.</summary>
    public string? Title => StringOf(Problem, "title");

    /// <summary>The problem's <c>detail</c>, or null.</summary>
    public string? Detail => StringOf(Problem, "detail");

    internal static async Task<PresenceException> ReadAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        JsonElement? problem = null;
        if (response.Content.Headers.ContentType?.MediaType is { } type && type.EndsWith("json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                problem = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
            }
            catch (JsonException)
            {
                // Not JSON after all (a proxy's page, say): the status still says what happened.
            }
        }
        TimeSpan? retryAfter = response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => TimeSpan.FromTicks(Math.Max(0, (date - DateTimeOffset.UtcNow).Ticks)),
            _ => null,
        };
        return new PresenceException(response.StatusCode, retryAfter, problem);
    }

    private static string MessageOf(HttpStatusCode statusCode, JsonElement? problem)
    {
        var title = StringOf(problem, "title") ?? statusCode.ToString();
        return StringOf(problem, "detail") is { } detail ? $"{(int)statusCode} {title}: {detail}" : $"{(int)statusCode} {title}";
    }

    private static string? StringOf(JsonElement? problem, string name) =>
        problem is { ValueKind: JsonValueKind.Object } json && json.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;
}
