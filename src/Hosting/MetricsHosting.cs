using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Presence.Grains.Interfaces;

namespace Presence.Hosting;

/// <summary>The metrics a process serves at <c>/metrics</c> (Prometheus text, through OpenTelemetry).</summary>
public static class MetricsHosting
{
    public static IServiceCollection AddPresenceOpenTelemetry(this IServiceCollection services, string serviceName)
    {
        services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService(serviceName)).WithMetrics(metrics => metrics
            .AddMeter(Telemetry.Meters)
            .AddRuntimeInstrumentation()
            .AddPrometheusExporter());
        services.ConfigureOpenTelemetryMeterProvider((provider, metrics) => metrics.AddView(Streams(provider.GetRequiredService<IMeterFactory>())));
        return services;
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
}
