using Presence.Grains;
using Presence.Grains.Interfaces;
using Presence.WebFrontend.Feed;
using Presence.WebFrontend.Presence;
using Presence.WebFrontend.Sse;

namespace Presence.WebFrontend;

internal static class PresenceHosting
{
    /// <summary>The embedded default: this process is a one-silo cluster of its own.</summary>
    public static WebApplicationBuilder AddEmbeddedSilo(this WebApplicationBuilder builder)
    {
        builder.UseOrleans(silo => silo.UseLocalhostPresenceCluster(builder.Configuration).AddPresenceGrains());
        return builder;
    }

    public static WebApplicationBuilder AddPresenceFrontEnd(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddValidatedOptions<SseOptions>(SseOptions.Section);
        services.AddValidatedOptions<PresenceOptions>(PresenceOptions.Section);
        services.AddValidatedOptions<FeedOptions>(FeedOptions.Section);

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<FrontEndIdentity>();
        services.AddSingleton<LocalRooms>();
        services.AddSingleton<RoomEventStream>();
        services.AddSingleton<PublishKeys>();
        services.AddHostedService<LeaseRenewalService>();
        services.AddHostedService<KeepAliveService>();

        services.AddProblemDetails();
        services.AddHealthChecks().AddCheck<ClusterHealthCheck>("cluster");
        return builder;
    }
}
