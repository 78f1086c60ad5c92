using System.Diagnostics;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend.Observability;

/// <summary>
/// Times the front end's calls to the service's grains: those made from outside any grain (so not
/// grain-to-grain calls of a co-hosted silo) to an interface of <see cref="Grains.Interfaces"/>.
/// Each attempt is timed on its own; a retried call shows as several.
/// </summary>
internal sealed class GrainCallTimer(PresenceMetrics metrics) : IOutgoingGrainCallFilter
{
    private static readonly string ServiceInterfaces = typeof(IPresenceGrain).Namespace + ".";

    public Task Invoke(IOutgoingGrainCallContext context) =>
        context.SourceContext is null && context.InterfaceName.StartsWith(ServiceInterfaces, StringComparison.Ordinal)
            ? TimeAsync(context)
            : context.Invoke();

    private async Task TimeAsync(IOutgoingGrainCallContext context)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await context.Invoke();
        }
        finally
        {
            metrics.GrainCalled(context.InterfaceName[ServiceInterfaces.Length..], context.MethodName, Stopwatch.GetElapsedTime(started));
        }
    }
}
