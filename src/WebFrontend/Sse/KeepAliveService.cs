using Microsoft.Extensions.Options;
using Presence.WebFrontend.Groups;

namespace Presence.WebFrontend.Sse;

/// <summary>
/// Offers the keep-alive comment to every connection (of a room's stream or a group's) once per interval (a connection sends it only
/// if it has written nothing else since the previous offer). The connections are spread
/// over <see cref="Slices"/> ticks of the interval by their id, so that a front end holding tens of
/// thousands of them never writes all the comments in one burst (which would delay the events
/// being fanned out at that moment).
/// </summary>
internal sealed class KeepAliveService(LocalRooms rooms, LocalGroups groups, IOptions<SseOptions> options) : BackgroundService
{
    public const int Slices = 16;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.KeepAlive / Slices);
        for (var tick = 0; await timer.WaitForNextTickAsync(stoppingToken); tick = (tick + 1) % Slices)
        {
            foreach (var connection in rooms.Connections.Concat(groups.Connections))
            {
                if (connection.KeepAliveSlice == tick)
                {
                    connection.PostKeepAlive();
                }
            }
        }
    }
}
