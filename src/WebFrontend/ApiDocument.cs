using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Presence.Hosting;
using Presence.WebFrontend.Observability;

namespace Presence.WebFrontend;

/// <summary>
/// The OpenAPI document at <c>/openapi/v1.json</c>. The rooms API and the event stream are described
/// from their endpoints (<c>RoomsApi</c>); the routes that are not route handlers (the demo page's
/// static files, the health checks, <c>/metrics</c>, the dashboard's page) are added here, so that
/// the document lists every route of the README's contract.
/// </summary>
internal static class ApiDocument
{
    private const string OperationsTag = "Operations";

    private sealed record Route(string Path, string OperationId, string Summary, string ContentType, bool MayBeUnavailable = false);

    private static readonly Route[] OtherRoutes =
    [
        new("/", "GetDemoPage", "The demo page (/?room=<room>): a room's live count and events, and a form to publish", "text/html"),
        new("/health", "GetHealth", "Healthy (200) when the cluster answers a grain call within 5 s and the front end is not stopping; otherwise 503", "text/plain", MayBeUnavailable: true),
        new("/health/ready", "GetReadiness", "The same checks as /health: a load balancer sends new clients only while it is 200", "text/plain", MayBeUnavailable: true),
        new("/health/live", "GetLiveness", "200 while the process answers at all", "text/plain"),
        new("/presence.js", "GetWidget", "The embeddable widget: fills every [data-presence-room] element with a live count; Presence.watch(room, options) for scripts", "text/javascript"),
        new("/metrics", "GetMetrics", "This process's metrics in Prometheus text format", "text/plain"),
        new("/openapi/v1.json", "GetOpenApiDocument", "This document", "application/json"),
    ];

    private static readonly Route Dashboard =
        new(DashboardHosting.Path, "GetDashboard", "The Orleans dashboard of the co-hosted silo (embedded mode; redirects to /dashboard/)", "text/html");

    public static IServiceCollection AddPresenceOpenApi(this IServiceCollection services) =>
        services.AddOpenApi(options => options.AddDocumentTransformer((document, context, _) =>
        {
            var configuration = context.ApplicationServices.GetRequiredService<IConfiguration>();
            var routes = TelemetryHosting.HostsDashboard(configuration) ? [.. OtherRoutes, Dashboard] : OtherRoutes;
            document.Paths ??= [];
            foreach (var route in routes)
            {
                document.Paths[route.Path] = PathItem(route);
            }
            return Task.CompletedTask;
        }));

    public static WebApplication MapPresenceOpenApi(this WebApplication app)
    {
        app.MapOpenApi();
        return app;
    }

    /// <summary>
    /// Describes a JSON body that the handler reads and checks itself, without <c>Accepts</c>
    /// metadata: that would make routing refuse other content types with 415, where the handler
    /// reads any body and answers 400 if it is not JSON.
    /// </summary>
    public static RouteHandlerBuilder WithJsonBody<TBody>(this RouteHandlerBuilder route) =>
        route.AddOpenApiOperationTransformer(async (operation, context, cancellationToken) =>
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["application/json"] = new() { Schema = await context.GetOrCreateSchemaAsync(typeof(TBody), cancellationToken: cancellationToken) },
                },
            });

    private static OpenApiPathItem PathItem(Route route)
    {
        var responses = new OpenApiResponses
        {
            ["200"] = new OpenApiResponse { Description = "OK", Content = new Dictionary<string, OpenApiMediaType> { [route.ContentType] = new() } },
        };
        if (route.MayBeUnavailable)
        {
            responses["503"] = new OpenApiResponse { Description = "Unhealthy", Content = new Dictionary<string, OpenApiMediaType> { [route.ContentType] = new() } };
        }
        return new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Get] = new()
                {
                    OperationId = route.OperationId,
                    Summary = route.Summary,
                    Tags = new HashSet<OpenApiTagReference> { new(OperationsTag) },
                    Responses = responses,
                },
            },
        };
    }
}
