using Presence.Grains;

var builder = Host.CreateApplicationBuilder(args);
builder.UseOrleans(silo => silo.UseLocalhostPresenceCluster(builder.Configuration).AddPresenceGrains());
builder.Build().Run();
