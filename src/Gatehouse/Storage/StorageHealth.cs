using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage;

/// <summary>
/// Whether the database answers, for <c>/readyz</c>. One probe per second at most, however often the endpoint is
/// polled; concurrent callers share the probe in flight.
/// </summary>
internal sealed partial class StorageHealth(IServiceScopeFactory scopes, StorageLocation location, TimeProvider time, ILogger<StorageHealth> logger)
{
    private static readonly TimeSpan s_cacheFor = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan s_probeTimeout = TimeSpan.FromSeconds(3);

    private readonly Lock _lock = new();
    private Task<string?>? _probe;
    private long _probeStartedAt;
    private bool _wasHealthy = true;

    /// <summary>Null when storage answers; otherwise what is wrong, safe to show to a caller.</summary>
    public Task<string?> CheckAsync()
    {
        lock (_lock)
        {
            if (_probe is null || time.GetElapsedTime(_probeStartedAt) >= s_cacheFor)
            {
                _probeStartedAt = time.GetTimestamp();
                _probe = ProbeAsync();
            }

            return _probe;
        }
    }

    private async Task<string?> ProbeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(s_probeTimeout);
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
            await db.Database.ExecuteSqlRawAsync("SELECT 1", timeout.Token);
            if (!_wasHealthy)
            {
                _wasHealthy = true;
                LogRecovered(logger, location.DisplayName);
            }

            return null;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The reason goes to the log only: /readyz is public and the message may name internal hosts.
            if (_wasHealthy)
            {
                _wasHealthy = false;
                LogUnreachable(logger, location.DisplayName, ex.GetType().Name, ex.Message);
            }

            return $"The {location.DisplayName} storage is unreachable; the gateway log (event 3011) has the cause.";
        }
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Storage ({Provider}) is reachable again")]
    private static partial void LogRecovered(ILogger logger, string provider);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Error, Message = "Storage ({Provider}) is unreachable: {ExceptionType}: {Reason}")]
    private static partial void LogUnreachable(ILogger logger, string provider, string exceptionType, string reason);
}
