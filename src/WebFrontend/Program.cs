using Presence.WebFrontend;
using Presence.WebFrontend.Rooms;

var builder = WebApplication.CreateBuilder(args);
builder.AddEmbeddedSilo();
builder.AddPresenceFrontEnd();

var app = builder.Build();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseDefaultFiles();
app.UseStaticFiles();
app.MapRoomsApi();
app.MapHealthChecks("/health");
app.Run();

public partial class Program;
