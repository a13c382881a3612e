namespace Gatehouse.Signing;

/// <summary>
/// Re-reads the signing keys every few minutes so each replica learns of a successor another replica created (it
/// is published an hour before it signs), and makes the successor when the current key nears retirement.
/// </summary>
internal sealed partial class SigningKeyRefresher(SigningKeyStore store, TimeProvider time, ILogger<SigningKeyRefresher> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await store.RefreshAsync(stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The keys in memory stay in force; the next tick tries again.
                LogRefreshFailed(logger, ex.GetType().Name, ex.Message);
            }
        }
    }

    [LoggerMessage(EventId = 3110, Level = LogLevel.Warning, Message = "Could not refresh the signing keys; the loaded keys stay in force. {ExceptionType}: {Reason}")]
    private static partial void LogRefreshFailed(ILogger logger, string exceptionType, string reason);
}
