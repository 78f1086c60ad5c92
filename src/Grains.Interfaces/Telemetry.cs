namespace Presence.Grains.Interfaces;

/// <summary>The meters a front end and a silo export on <c>/metrics</c>.</summary>
public static class Telemetry
{
    /// <summary>The service's own instruments, front end and grains alike.</summary>
    public const string MeterName = "Presence";

    /// <summary>Ours, Orleans', Kestrel's and ASP.NET Core's request meters (the runtime's are added beside them).</summary>
    public static readonly string[] Meters =
        [MeterName, "Microsoft.Orleans", "Microsoft.AspNetCore.Server.Kestrel", "Microsoft.AspNetCore.Hosting"];

    /// <summary>
    /// Left out: Orleans 10.4.2's memory-stream receivers add <c>TimeSpan.MinValue</c> ticks to this
    /// counter when they start, so it reads -9.2e18 (a counter may never be negative).
    /// </summary>
    public const string BrokenOrleansCounter = "orleans-streams-queue-initialization-duration";

    /// <summary>
    /// Series kept per instrument: OpenTelemetry's default (2,000) preallocates 144 KB for each of
    /// the ~300 instruments, Orleans' included, 44 MB per process; none has more than a few dozen.
    /// </summary>
    public const int SeriesPerInstrument = 200;
}
