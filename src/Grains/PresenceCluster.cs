using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Hosting;
using Presence.Grains.Interfaces;
using StackExchange.Redis;

namespace Presence.Grains;

/// <summary>What the silos and the client-mode front ends of one cluster on Redis must agree on.</summary>
public static class PresenceCluster
{
    public const string RedisConnectionName = "Redis";

    /// <summary>Silo and gateway ports and the address other silos and clients reach this silo at.</summary>
    public sealed record SiloEndpoints(IPAddress AdvertisedIP, int SiloPort, int GatewayPort);

    /// <summary>
    /// <c>ConnectionStrings:Redis</c> with timeouts short enough that a Redis outage turns into a
    /// quick, clear failure (a 503) rather than a request hanging for StackExchange.Redis' default 5 s.
    /// </summary>
    public static ConfigurationOptions RedisOptions(IConfiguration configuration)
    {
        var connectionString = configuration.GetConnectionString(RedisConnectionName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{RedisConnectionName} is not set (for example ConnectionStrings__{RedisConnectionName}=localhost:6379).");
        }
        ConfigurationOptions options;
        try
        {
            options = ConfigurationOptions.Parse(connectionString);
        }
        catch (ArgumentException exception)
        {
            throw new InvalidOperationException($"ConnectionStrings:{RedisConnectionName} is not a valid Redis connection string: {exception.Message}", exception);
        }
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 2000;
        options.SyncTimeout = 2000;
        options.AsyncTimeout = 2000;
        return options;
    }

    /// <summary>
    /// Connects to Redis and checks that it answers a PING now; fails with one clear sentence if it
    /// does not. The connection reconnects by itself later on.
    /// </summary>
    public static async Task<IConnectionMultiplexer> ConnectRedisAsync(IConfiguration configuration)
    {
        var options = RedisOptions(configuration).Clone();
        options.AbortOnConnectFail = true;
        try
        {
            var redis = await ConnectionMultiplexer.ConnectAsync(options);
            await redis.GetDatabase().PingAsync();
            return redis;
        }
        catch (Exception exception) when (exception is RedisException or RedisTimeoutException)
        {
            throw new InvalidOperationException(
                $"Redis at '{configuration.GetConnectionString(RedisConnectionName)}' (ConnectionStrings:{RedisConnectionName}) is not reachable: {exception.Message.Split(". ")[0]}.",
                exception);
        }
    }

    public static SiloEndpoints Endpoints(IConfiguration configuration)
    {
        var advertised = configuration["Orleans:AdvertisedIP"];
        if (string.IsNullOrEmpty(advertised))
        {
            advertised = IPAddress.Loopback.ToString();
        }
        return new SiloEndpoints(
            IPAddress.TryParse(advertised, out var address)
                ? address
                : throw new InvalidOperationException($"Orleans:AdvertisedIP '{advertised}' is not an IP address."),
            configuration.GetValue("Orleans:SiloPort", 11111),
            configuration.GetValue("Orleans:GatewayPort", 30000));
    }

    /// <summary><c>Orleans:ClusterId</c> and <c>Orleans:ServiceId</c>, both <c>presence</c> by default.</summary>
    public static IServiceCollection AddPresenceClusterOptions(this IServiceCollection services)
    {
        services.AddOptions<ClusterOptions>()
            .Configure(options => options.ClusterId = options.ServiceId = "presence")
            .BindConfiguration("Orleans");
        return services;
    }

    /// <summary>
    /// A SIGKILLed silo is declared dead within seconds (two missed probes of 2 s, one vote), and one
    /// that stopped refreshing its row for 10 s is not waited for when silos start again.
    /// </summary>
    public static void DetectFailuresInSeconds(ClusterMembershipOptions options)
    {
        options.ProbeTimeout = TimeSpan.FromSeconds(2);
        options.NumMissedProbesLimit = 2;
        options.NumVotesForDeathDeclaration = 1;
        options.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
        options.NumMissedTableIAmAliveLimit = 2;
    }

    /// <summary>A front end in <c>Orleans:Mode=Client</c>: an Orleans client of the cluster on Redis; no grain runs in it.</summary>
    public static IClientBuilder UseRedisPresenceCluster(this IClientBuilder client, IConfiguration configuration)
    {
        var redis = RedisOptions(configuration);
        client.Services.AddPresenceClusterOptions();
        client.UseRedisClustering(options => options.ConfigurationOptions = redis);
        // A silo that joins (or comes back) is used within seconds, not the default minute.
        client.Configure<GatewayOptions>(options => options.GatewayListRefreshPeriod = TimeSpan.FromSeconds(5));
        // A call that was on its way to a silo when it was killed gets no answer: give up on it
        // after 5 s (not the default 30) so that the retries reach the room's new activation.
        // The front end's calls are small; a healthy cluster answers them in milliseconds.
        client.Configure<ClientMessagingOptions>(options => options.ResponseTimeout = TimeSpan.FromSeconds(5));
        client.AddMemoryStreams(RoomStreams.ProviderName);
        return client;
    }
}
