using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Widget;

namespace Presence.WebFrontend.Connections;

/// <summary>The body of an activity report, as the OpenAPI document shows it (the handler reads and checks the JSON itself).</summary>
internal sealed class ActivityBody
{
    [Required]
    [Description("true: the client is idle (its page hidden); false: active again")]
    public bool Idle { get; init; }
}

/// <summary>
/// <c>POST /connections/{id}/activity</c>: a client that opened its stream with <c>activity=true</c>
/// reports that it is idle or active again, with the token its stream gave it. Any front end
/// answers it: the connection's grain checks the token and tells the presence grain of each of the
/// connection's rooms.
/// </summary>
internal static class ConnectionsApi
{
    /// <summary><c>{"idle":false}</c> is 14 bytes.</summary>
    public const int MaxBodyBytes = 1024;

    public static IEndpointRouteBuilder MapConnectionsApi(this IEndpointRouteBuilder app)
    {
        // Pages of Cors:AllowedOrigins report their widget's activity from the browser.
        app.MapPost("/connections/{id}/activity", ReportActivityAsync).RequireCors(WidgetApi.CorsPolicy)
            .WithTags("Connections")
            .WithName("ReportActivity")
            .WithSummary("Marks a connection opened with activity=true idle or active (Authorization: Bearer <the token of its 'connection' event>)")
            .WithJsonBody<ActivityBody>()
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<IResult> ReportActivityAsync(string id, HttpContext context, IGrainFactory grains)
    {
        if (!Guid.TryParseExact(id, "N", out var connectionId) && !Guid.TryParseExact(id, "D", out connectionId))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid connection id",
                "A connection id is the 'id' of the stream's 'connection' event: 32 hexadecimal digits.");
        }
        if (Bearer.CredentialsOf(context.Request) is not { } token)
        {
            return Bearer.Challenge(context.Response, "The connection's token is required",
                "Send the 'token' of the stream's 'connection' event as 'Authorization: Bearer <token>'.");
        }
        var (body, unreadable) = await JsonBody.ReadAsync(context, MaxBodyBytes);
        if (unreadable is not null)
        {
            return unreadable;
        }
        bool idle;
        using (body)
        {
            var root = body!.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("idle", out var value)
                || value.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                return Problem(StatusCodes.Status400BadRequest, "Invalid activity report", "The body must be {\"idle\":true} or {\"idle\":false}.");
            }
            idle = value.GetBoolean();
        }

        var connection = grains.GetGrain<IConnectionGrain>(connectionId);
        var outcome = await ClusterCalls.Retry.ExecuteAsync(async _ => await connection.ReportActivityAsync(token, idle));
        return outcome switch
        {
            ActivityOutcome.Applied => TypedResults.NoContent(),
            ActivityOutcome.UnknownConnection => Problem(StatusCodes.Status404NotFound, "No such connection", "The connection has closed, or never existed."),
            _ => Problem(StatusCodes.Status403Forbidden, "Not this connection's token", "Only the token of the connection's 'connection' event may report its activity."),
        };
    }

    private static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(statusCode: status, title: title, detail: detail);
}
