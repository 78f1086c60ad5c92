namespace Presence.WebFrontend.Presence;

/// <summary>Names this front end process to the presence grains, which record who owns each connection.</summary>
internal sealed class FrontEndIdentity
{
    public string Id { get; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid():N}";
}
