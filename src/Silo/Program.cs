using System.Net;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Orleans.Dashboard;
using Presence.Grains;
using Presence.Grains.Interfaces;

var builder = WebApplication.CreateBuilder(args);
// Dashboard:Enabled (default true): the Orleans dashboard at /dashboard, on the silo's HTTP port
// (Dashboard:Port) beside /metrics. It has no authentication: the port listens on loopback unless
// the silo advertises another address.
var dashboard = builder.Configuration.GetValue("Dashboard:Enabled", true);
try
{
    var feedRedis = await PresenceCluster.ConnectRedisAsync(builder.Configuration);
    var endpoints = PresenceCluster.Endpoints(builder.Configuration);
    builder.UseOrleans(silo =>
    {
        silo.UseRedisPresenceCluster(builder.Configuration, feedRedis).AddPresenceGrains(StreamQueues.Cluster);
        if (dashboard)
        {
            silo.AddDashboard(options => options.HideTrace = true); // live logs stay off an unauthenticated page
        }
    });
    var port = builder.Configuration.GetValue("Dashboard:Port", 8080);
    builder.WebHost.ConfigureKestrel(kestrel =>
    {
        if (IPAddress.IsLoopback(endpoints.AdvertisedIP))
        {
            kestrel.ListenLocalhost(port);
        }
        else
        {
            kestrel.ListenAnyIP(port);
        }
    });
}
catch (InvalidOperationException exception)
{
    Console.Error.WriteLine($"presence silo: {exception.Message}");
    return 2;
}
builder.Services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService("presence-silo")).WithMetrics(metrics => metrics
    .AddMeter(Telemetry.Meters)
    .AddView(instrument => instrument.Name == Telemetry.BrokenOrleansCounter
        ? MetricStreamConfiguration.Drop
        : new MetricStreamConfiguration { CardinalityLimit = Telemetry.SeriesPerInstrument })
    .AddRuntimeInstrumentation()
    .AddPrometheusExporter());
// SIGTERM: the silo leaves the cluster (its rooms move to the other silos) before the process exits.
builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(20));

var app = builder.Build();
app.MapPrometheusScrapingEndpoint();
if (dashboard)
{
    app.MapOrleansDashboard("/dashboard");
}
await app.RunAsync();
return 0;
