using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Presence.WebFrontend.Groups;
using Presence.WebFrontend.Sse;

namespace Presence.WebFrontend.Shutdown;

/// <summary>How a front end stops (section <c>Shutdown</c>).</summary>
public sealed class ShutdownOptions
{
    public const string Section = "Shutdown";

    /// <summary>
    /// How long a stopping front end still answers (readiness failing, new streams 503) before it
    /// stops listening, so that a load balancer sees it leave instead of finding it gone.
    /// </summary>
    [Range(0, 8)]
    public double DrainSeconds { get; set; } = 2;

    /// <summary>The final <c>retry:</c> of each stream is drawn between 1 s and this, so clients come back spread out.</summary>
    [Range(1, 60)]
    public double ReconnectSpreadSeconds { get; set; } = 5;
}

/// <summary>
/// On SIGTERM, before Kestrel stops: readiness fails and new streams get 503 at once; every open
/// stream gets a last <c>retry:</c> with a random delay and ends, and its connection leaves its
/// room at once (watchers elsewhere see the exact count right away, not after a lease); then the
/// front end goes on answering for the rest of the drain time.
/// </summary>
internal sealed partial class GracefulShutdown(
    StreamAdmission admission, LocalRooms rooms, LocalGroups groups, IOptions<ShutdownOptions> options, TimeProvider time, ILogger<GracefulShutdown> logger)
    : IHostedLifecycleService, IHealthCheck
{
    /// <summary>Streams that have not ended by then (a client that does not read) are left to Kestrel's shutdown.</summary>
    private static readonly TimeSpan MostForStreamsToEnd = TimeSpan.FromSeconds(5);

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var allClosed = admission.StopAsync();
        var streams = admission.Open;
        var spreadMilliseconds = (int)(options.Value.ReconnectSpreadSeconds * 1000);
        foreach (var connection in rooms.Connections.Concat(groups.Connections))
        {
            connection.EndWith(SseFrame.Retry(Random.Shared.Next(1000, spreadMilliseconds + 1)));
        }
        try
        {
            await allClosed.WaitAsync(MostForStreamsToEnd, time, cancellationToken);
            LogStreamsEnded(streams);
        }
        catch (TimeoutException)
        {
            LogStreamsStillOpen(admission.Open);
        }
        var rest = TimeSpan.FromSeconds(options.Value.DrainSeconds) - time.GetElapsedTime(started);
        if (rest > TimeSpan.Zero)
        {
            await Task.Delay(rest, time, cancellationToken);
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(admission.Stopping ? HealthCheckResult.Unhealthy("stopping") : HealthCheckResult.Healthy());

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: {Streams} event streams ended and left their rooms")]
    private partial void LogStreamsEnded(int streams);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping: {Streams} event streams still open; Kestrel's shutdown ends them")]
    private partial void LogStreamsStillOpen(int streams);
}
