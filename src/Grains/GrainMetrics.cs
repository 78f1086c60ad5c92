using System.Diagnostics.Metrics;
using Presence.Grains.Interfaces;

namespace Presence.Grains;

/// <summary>
/// The grains' instruments (meter <see cref="Telemetry.MeterName"/>), exported on <c>/metrics</c> by
/// the process that hosts them: the embedded front end, or a silo of cluster mode.
/// </summary>
public sealed class GrainMetrics
{
    private long _leasesLapsed;

    /// <summary>A field read at each scrape: shown from the start, not from the first lapse.</summary>
    public GrainMetrics(IMeterFactory meters) =>
        meters.Create(Telemetry.MeterName).CreateObservableCounter(
            "presence.leases.lapsed", () => Interlocked.Read(ref _leasesLapsed), "{connection}",
            "Connections removed by a room's sweep because their lease lapsed (their front end died, or their close was lost)");

    public void LeasesLapsed(int count) => Interlocked.Add(ref _leasesLapsed, count);
}
