using Presence.Grains;

var builder = Host.CreateApplicationBuilder(args);
try
{
    var feedRedis = await PresenceCluster.ConnectRedisAsync(builder.Configuration);
    builder.UseOrleans(silo => silo.UseRedisPresenceCluster(builder.Configuration, feedRedis).AddPresenceGrains());
}
catch (InvalidOperationException exception)
{
    Console.Error.WriteLine($"presence silo: {exception.Message}");
    return 2;
}
// SIGTERM: the silo leaves the cluster (its rooms move to the other silos) before the process exits.
builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(20));
await builder.Build().RunAsync();
return 0;
