using Presence.WebFrontend;
using Presence.WebFrontend.Rooms;

var builder = WebApplication.CreateBuilder(args);
try
{
    await builder.AddOrleansAsync();
}
catch (InvalidOperationException exception)
{
    Console.Error.WriteLine($"presence front end: {exception.Message}");
    return 2;
}
builder.AddPresenceFrontEnd();

var app = builder.Build();
app.UseForwardedHeaders();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDefaultFiles();
app.UseStaticFiles();
app.UseRateLimiter();
app.MapRoomsApi();
app.MapPresenceHealth();
await app.RunAsync();
return 0;

public partial class Program;
