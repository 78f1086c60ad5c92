namespace Presence.Grains.Interfaces;

/// <summary>The Orleans streams a room (and a group of rooms) publishes on, and the storage they need.</summary>
public static class RoomStreams
{
    public const string ProviderName = "RoomStreams";

    /// <summary>Grain storage name the stream provider keeps its subscriptions in.</summary>
    public const string PubSubStore = "PubSubStore";

    public const string PresenceNamespace = "presence";
    public const string FeedNamespace = "feed";

    /// <summary>A group's sums (<see cref="GroupChanged"/>), keyed by the group name.</summary>
    public const string GroupNamespace = "group";

    public static StreamId Presence(string room) => StreamId.Create(PresenceNamespace, room);

    public static StreamId Feed(string room) => StreamId.Create(FeedNamespace, room);

    public static StreamId Group(string group) => StreamId.Create(GroupNamespace, group);
}

/// <summary>Grain storage names.</summary>
public static class Storage
{
    /// <summary>State of the room grains: presence, connections and feeds; and the groups' sums.</summary>
    public const string Rooms = "rooms";
}
