namespace Presence.WebFrontend;

/// <summary>
/// A client-mode front end that starts before any silo keeps trying to reach the cluster (once a
/// second, saying so) instead of failing: silos and front ends can be started in any order.
/// </summary>
internal sealed partial class WaitForCluster(ILogger<WaitForCluster> logger) : IClientConnectionRetryFilter
{
    public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
    {
        LogWaiting(exception.Message);
        await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No silo of the cluster answers yet ({Reason}); trying again")]
    private partial void LogWaiting(string reason);
}
