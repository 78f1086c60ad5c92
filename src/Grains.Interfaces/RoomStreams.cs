namespace Presence.Grains.Interfaces;

/// <summary>The Orleans streams a room publishes on, and the storage they need.</summary>
public static class RoomStreams
{
    public const string ProviderName = "RoomStreams";

    /// <summary>Grain storage name the stream provider keeps its subscriptions in.</summary>
    public const string PubSubStore = "PubSubStore";

    public const string PresenceNamespace = "presence";
    public const string FeedNamespace = "feed";

    public static StreamId Presence(string room) => StreamId.Create(PresenceNamespace, room);

    public static StreamId Feed(string room) => StreamId.Create(FeedNamespace, room);
}

/// <summary>Grain storage names.</summary>
public static class Storage
{
    /// <summary>State of the room grains: presence, connections and feeds.</summary>
    public const string Rooms = "rooms";
}
