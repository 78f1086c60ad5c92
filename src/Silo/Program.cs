using System.Net;
using Presence.Grains;
using Presence.Hosting;

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
            silo.AddPresenceDashboard();
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
builder.Services.AddPresenceOpenTelemetry("presence-silo");
// SIGTERM: the silo leaves the cluster (its rooms move to the other silos) before the process exits.
builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(20));

var app = builder.Build();
app.MapPrometheusScrapingEndpoint();
if (dashboard)
{
    app.MapPresenceDashboard();
}
await app.RunAsync();
return 0;
