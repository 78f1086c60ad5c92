using Presence.WebFrontend;
using Presence.WebFrontend.Connections;
using Presence.WebFrontend.Groups;
using Presence.WebFrontend.Observability;
using Presence.WebFrontend.Rooms;
using Presence.WebFrontend.Widget;

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
app.UsePublishOutcomes();
app.Use(static (context, next) =>
{
    context.Response.Headers.XContentTypeOptions = "nosniff";
    return next(context);
});
app.UseExceptionHandler();
// Problem JSON whatever the client accepts (the default writes text/plain for, say, Accept: text/html).
app.UseStatusCodePages(static status =>
    TypedResults.Problem(statusCode: status.HttpContext.Response.StatusCode).ExecuteAsync(status.HttpContext));
app.UseCors();
app.UseDemoPage();
app.UseRateLimiter();
app.MapRoomsApi();
app.MapConnectionsApi();
app.MapGroupsApi();
app.MapWidget();
app.MapPresenceHealth();
app.MapPresenceTelemetry();
app.MapPresenceOpenApi();
await app.RunAsync();
return 0;

public partial class Program;
