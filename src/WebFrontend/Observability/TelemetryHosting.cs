using Presence.Hosting;

namespace Presence.WebFrontend.Observability;

/// <summary><c>/metrics</c> (Prometheus text, through OpenTelemetry) and the Orleans dashboard at <c>/dashboard</c>.</summary>
internal static class TelemetryHosting
{
    /// <summary>
    /// The co-hosted silo's dashboard, unless <c>Dashboard:Enabled</c> is false. A client-mode front
    /// end has none: the silos of the cluster serve theirs.
    /// </summary>
    public static bool HostsDashboard(IConfiguration configuration) =>
        PresenceHosting.IsEmbedded(configuration) && configuration.GetValue("Dashboard:Enabled", true);

    public static IServiceCollection AddPresenceMetrics(this IServiceCollection services)
    {
        services.AddSingleton<PresenceMetrics>();
        services.AddSingleton<IOutgoingGrainCallFilter, GrainCallTimer>();
        services.AddPresenceOpenTelemetry("presence-frontend");
        return services;
    }

    public static WebApplication MapPresenceTelemetry(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint();
        if (HostsDashboard(app.Configuration))
        {
            // Its JSON API is the dashboard's own business: only its page is in the OpenAPI document.
            app.MapPresenceDashboard().ExcludeFromDescription();
        }
        return app;
    }
}
