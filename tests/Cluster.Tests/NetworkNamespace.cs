using System.ComponentModel;
using System.Net;

namespace Presence.Cluster.Tests;

/// <summary>
/// A network namespace of its own, joined to this machine by a veth pair: processes started in it
/// are a host on another network stack, whose packets can be made to vanish on the wire. Needs
/// root, iproute2's <c>ip</c> and nftables' <c>nft</c>; fails saying so when the machine cannot.
/// </summary>
internal sealed class NetworkNamespace : IAsyncDisposable
{
    private const string Requirements =
        "a network namespace needs root, `ip` (iproute2) and `nft` (nftables); scripts/test.sh installs the packages";

    private readonly string _hostInterface;
    private readonly string _insideInterface;
    private readonly IPAddress _insideAddress;

    private NetworkNamespace(int id)
    {
        Name = $"presence-test-{id}";
        _hostInterface = $"prs{id}h";
        _insideInterface = $"prs{id}n";
        // A /30 of 10.231.0.0/16 per id: .1 this machine's end, .2 the namespace's.
        HostAddress = new IPAddress([10, 231, (byte)(id / 64), (byte)(id % 64 * 4 + 1)]);
        _insideAddress = new IPAddress([10, 231, (byte)(id / 64), (byte)(id % 64 * 4 + 2)]);
    }

    public string Name { get; }

    /// <summary>This machine's end of the veth pair.</summary>
    public IPAddress HostAddress { get; }

    public static async Task<NetworkNamespace> CreateAsync()
    {
        if (!Environment.IsPrivilegedProcess)
        {
            throw new InvalidOperationException($"The tests do not run as root: {Requirements}.");
        }
        // One number names the namespace, the interfaces and the addresses: a run that drew the
        // number of another one running at the same time fails at `ip netns add`, sharing nothing.
        var network = new NetworkNamespace(Random.Shared.Next(16_384));
        await RunAsync("ip", "netns", "add", network.Name);
        try
        {
            await RunAsync("ip", "link", "add", network._hostInterface, "type", "veth", "peer", "name", network._insideInterface, "netns", network.Name);
            await RunAsync("ip", "address", "add", $"{network.HostAddress}/30", "dev", network._hostInterface);
            await RunAsync("ip", "link", "set", network._hostInterface, "up");
            await RunAsync("ip", "-n", network.Name, "address", "add", $"{network._insideAddress}/30", "dev", network._insideInterface);
            await RunAsync("ip", "-n", network.Name, "link", "set", network._insideInterface, "up");
            // Empty until DropAllPacketsAsync; made now so that a missing nft fails here.
            await RunAsync("ip", "netns", "exec", network.Name, "nft", "add table netdev cut");
            return network;
        }
        catch
        {
            await network.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts a process whose sockets are in the namespace.</summary>
    public NodeProcess Start(string name, string fileName, params string[] arguments) =>
        NodeProcess.Start(name, "ip", ["netns", "exec", Name, fileName, .. arguments], Path.GetTempPath());

    /// <summary>
    /// From now on every packet in or out of the namespace vanishes at its end of the wire, as if
    /// the cable were cut: no FIN, no RST, no ICMP; this machine's side is told nothing. (<c>tc
    /// netem loss 100%</c> would do the same, but this project's machines run a kernel built
    /// without <c>sch_netem</c> and without loadable modules; its nftables netdev hooks are built in.)
    /// </summary>
    public Task DropAllPacketsAsync() =>
        RunAsync("ip", "netns", "exec", Name, "nft",
            $"add chain netdev cut in {{ type filter hook ingress device {_insideInterface} priority 0; policy drop; }}; " +
            $"add chain netdev cut out {{ type filter hook egress device {_insideInterface} priority 0; policy drop; }}");

    private static async Task RunAsync(string fileName, params string[] arguments)
    {
        var command = $"{fileName} {string.Join(' ', arguments)}";
        NodeProcess process;
        try
        {
            process = NodeProcess.Start(fileName, fileName, arguments, Path.GetTempPath());
        }
        catch (Win32Exception exception)
        {
            throw new InvalidOperationException($"Could not run `{command}` ({exception.Message}): {Requirements}.", exception);
        }
        await using (process)
        {
            var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(30));
            if (exitCode != 0)
            {
                throw new InvalidOperationException(
                    $"`{command}` failed with exit code {exitCode}: {string.Join(' ', process.Lines)} ({Requirements}).");
            }
        }
    }

    /// <summary>Deletes the namespace, and with it the veth pair and any rules in it.</summary>
    public async ValueTask DisposeAsync() => await RunAsync("ip", "netns", "delete", Name);
}
