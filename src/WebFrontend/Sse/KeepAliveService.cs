using Microsoft.Extensions.Options;

namespace Presence.WebFrontend.Sse;

/// <summary>One timer for the whole front end posts the keep-alive comment to every connection.</summary>
internal sealed class KeepAliveService(LocalRooms rooms, IOptions<SseOptions> options) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.KeepAlive);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            foreach (var room in rooms.All)
            {
                foreach (var connection in room.Connections)
                {
                    connection.PostKeepAlive();
                }
            }
        }
    }
}
