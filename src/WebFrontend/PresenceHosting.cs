using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Presence.Grains;
using Presence.Grains.Interfaces;
using Presence.Hosting;
using Presence.WebFrontend.Feed;
using Presence.WebFrontend.Groups;
using Presence.WebFrontend.Limits;
using Presence.WebFrontend.Observability;
using Presence.WebFrontend.Presence;
using Presence.WebFrontend.Rooms;
using Presence.WebFrontend.Shutdown;
using Presence.WebFrontend.Subscribe;
using Presence.WebFrontend.Sse;
using Presence.WebFrontend.Widget;

namespace Presence.WebFrontend;

internal static class PresenceHosting
{
    /// <summary>
    /// <c>Orleans:Mode</c>: <c>Embedded</c> (the default) co-hosts a one-silo cluster in memory;
    /// <c>Client</c> joins the cluster on Redis as an Orleans client and hosts no grains.
    /// </summary>
    public static async Task AddOrleansAsync(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        switch (configuration["Orleans:Mode"] ?? "Embedded")
        {
            case var _ when IsEmbedded(configuration):
                builder.UseOrleans(silo =>
                {
                    silo.UseLocalhostPresenceCluster(configuration).UseInMemoryPresenceStorage().AddPresenceGrains(StreamQueues.Embedded);
                    if (TelemetryHosting.HostsDashboard(configuration))
                    {
                        silo.AddPresenceDashboard();
                    }
                });
                break;
            case var mode when mode.Equals("Client", StringComparison.OrdinalIgnoreCase):
                // Only to fail at start, with one clear line, if Redis cannot be reached.
                (await PresenceCluster.ConnectRedisAsync(configuration)).Dispose();
                builder.UseOrleansClient(client => client.UseRedisPresenceCluster(configuration));
                builder.Services.AddSingleton<IClientConnectionRetryFilter, WaitForCluster>();
                break;
            case var mode:
                throw new InvalidOperationException($"Orleans:Mode is '{mode}'; it must be 'Embedded' or 'Client'.");
        }
    }

    /// <summary>Whether this front end co-hosts the silo (<c>Orleans:Mode</c> is <c>Embedded</c>, the default).</summary>
    public static bool IsEmbedded(IConfiguration configuration) =>
        (configuration["Orleans:Mode"] ?? "Embedded").Equals("Embedded", StringComparison.OrdinalIgnoreCase);

    /// <summary>The health checks <c>/health/ready</c> runs.</summary>
    public const string ReadyTag = "ready";

    public static WebApplicationBuilder AddPresenceFrontEnd(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<SseOptions>(SseOptions.Section);
        services.AddValidatedOptions<PresenceOptions>(PresenceOptions.Section);
        services.AddValidatedOptions<FeedOptions>(FeedOptions.Section);
        services.AddValidatedOptions<LimitsOptions>(LimitsOptions.Section);
        services.AddValidatedOptions<ShutdownOptions>(ShutdownOptions.Section);
        services.AddValidatedOptions<SubscribeOptions>(SubscribeOptions.Section);
        services.AddValidatedOptions<PrivateRoomsOptions>(PrivateRoomsOptions.Section);
        services.AddPrivateRooms();
        services.AddValidatedOptions<RateLimitsOptions>(RateLimitsOptions.Section);
        services.AddPresenceRateLimits();
        services.AddWidgetCors();

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<FrontEndIdentity>();
        services.AddSingleton<CountPacing>();
        services.AddSingleton<LocalRooms>();
        services.AddSingleton<RoomEventStream>();
        services.AddSingleton<LocalGroups>();
        services.AddSingleton<GroupEventStream>();
        services.AddSingleton<TopRoomsFeed>();
        services.AddSingleton<PublishKeys>();
        services.AddSingleton<StreamAdmission>();
        services.AddSingleton<GracefulShutdown>();
        services.AddHostedService(provider => provider.GetRequiredService<GracefulShutdown>());
        services.AddHostedService<LeaseRenewalService>();
        services.AddHostedService<KeepAliveService>();
        services.AddDeadClientDetection();
        services.AddPresenceMetrics();
        services.AddPresenceOpenApi();

        services.AddProblemDetails();
        services.AddExceptionHandler<ClusterUnavailableHandler>();
        services.AddHealthChecks()
            .AddCheck<ClusterHealthCheck>("cluster", tags: [ReadyTag])
            .AddCheck<GracefulShutdown>("not stopping", tags: [ReadyTag]);
        return builder;
    }

    /// <summary><c>/health</c> and <c>/health/ready</c>: every check; <c>/health/live</c>: the process answers.</summary>
    public static IEndpointRouteBuilder MapPresenceHealth(this IEndpointRouteBuilder app)
    {
        app.MapHealthChecks("/health");
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadyTag) });
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        return app;
    }
}
