using Microsoft.Extensions.Diagnostics.HealthChecks;
using Presence.Grains.Interfaces;

namespace Presence.WebFrontend;

/// <summary>Ready when a grain answers within a few seconds.</summary>
internal sealed class ClusterHealthCheck(IGrainFactory grains) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        await grains.GetGrain<IRoomDirectoryGrain>(0).GetTopAsync(1, []).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        return HealthCheckResult.Healthy();
    }
}
