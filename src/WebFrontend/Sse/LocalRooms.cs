using Presence.WebFrontend.Observability;
using Presence.WebFrontend.Presence;

namespace Presence.WebFrontend.Sse;

/// <summary>The rooms this front end has local connections in.</summary>
internal sealed class LocalRooms(IClusterClient client, FrontEndIdentity frontEnd, PresenceMetrics metrics, CountPacing pacing, ILogger<LocalRoom> logger)
    : LocalFanOuts<LocalRoom>
{
    protected override LocalRoom Create(string name) => new(name, client, frontEnd.Id, metrics, pacing, logger);

    protected override void Opened() => metrics.RoomOpened();

    protected override void Closed() => metrics.RoomClosed();
}
