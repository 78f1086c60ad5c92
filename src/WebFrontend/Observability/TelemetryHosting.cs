using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Orleans.Dashboard;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend.Observability;

/// <summary><c>/metrics</c> (Prometheus text, through OpenTelemetry) and the Orleans dashboard at <c>/dashboard</c>.</summary>
internal static class TelemetryHosting
{
    public const string DashboardPath = "/dashboard";

    /// <summary>
    /// The co-hosted silo's dashboard, unless <c>Dashboard:Enabled</c> is false. A client-mode front
    /// end has none: the silos of the cluster serve theirs.
    /// </summary>
    public static bool HostsDashboard(IConfiguration configuration) =>
        PresenceHosting.IsEmbedded(configuration) && configuration.GetValue("Dashboard:Enabled", true);

    /// <summary>Live logs stay off the dashboard: it has no authentication of its own.</summary>
    public static ISiloBuilder AddPresenceDashboard(this ISiloBuilder silo) => silo.AddDashboard(options => options.HideTrace = true);

    public static IServiceCollection AddPresenceMetrics(this IServiceCollection services)
    {
        services.AddSingleton<PresenceMetrics>();
        services.AddSingleton<IOutgoingGrainCallFilter, GrainCallTimer>();
        services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService("presence-frontend")).WithMetrics(metrics => metrics
            .AddMeter(Telemetry.Meters)
            .AddRuntimeInstrumentation()
            .AddPrometheusExporter());
        services.ConfigureOpenTelemetryMeterProvider((provider, metrics) => metrics.AddView(Streams(provider.GetRequiredService<IMeterFactory>())));
        return services;
    }

    /// <summary>
    /// The dashboard's API (10.4.2) fails with a 500 on a silo address it cannot parse
    /// (<c>/dashboard/SiloProperties/x</c>): bad input gets a 400 here, as everywhere else.
    /// </summary>
    private static async ValueTask<object?> BadSiloAddressIs400(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception exception) when (exception.GetBaseException() is FormatException format && !context.HttpContext.Response.HasStarted)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "Invalid dashboard request", detail: format.Message);
        }
    }

    /// <summary>
    /// Which instruments are exported, and how (one view: where several match, each makes a stream).
    /// OpenTelemetry listens to meters by name, in the whole process: where several hosts share one
    /// (the tests' factories), each exports only the meters its own <see cref="IMeterFactory"/> made,
    /// beside the process-wide ones (the runtime's). <see cref="Telemetry.BrokenOrleansCounter"/> is
    /// left out, and the others keep at most <see cref="Telemetry.SeriesPerInstrument"/> series.
    /// </summary>
    private static Func<Instrument, MetricStreamConfiguration?> Streams(IMeterFactory ours)
    {
        var bounded = new MetricStreamConfiguration { CardinalityLimit = Telemetry.SeriesPerInstrument };
        return instrument => instrument.Name == Telemetry.BrokenOrleansCounter || instrument.Meter.Scope is IMeterFactory scope && scope != ours
            ? MetricStreamConfiguration.Drop
            : bounded;
    }

    public static WebApplication MapPresenceTelemetry(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint();
        if (HostsDashboard(app.Configuration))
        {
            // Its JSON API is the dashboard's own business: only its page is in the OpenAPI document.
            app.MapOrleansDashboard(DashboardPath).ExcludeFromDescription().AddEndpointFilter(BadSiloAddressIs400);
        }
        return app;
    }
}
