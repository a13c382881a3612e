using Gatehouse.Configuration;
using Gatehouse.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Audit;

/// <summary>
/// Deletes audit records older than <c>audit.retention</c>, a minute after start-up and then every hour, in chunks
/// of <see cref="ChunkSize"/> rows so that no statement holds the table (or SQLite's single writer lock) for long.
/// The only thing that ever deletes audit rows. Replicas may all run it: deleting what is already gone is harmless.
/// </summary>
internal sealed partial class AuditRetention(IServiceScopeFactory scopes, AuditConfig config, TimeProvider time, ILogger<AuditRetention> logger)
    : BackgroundService
{
    public const int ChunkSize = 5000;

    public static readonly TimeSpan FirstRunDelay = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(FirstRunDelay, time, stoppingToken);
            using var timer = new PeriodicTimer(Interval, time);
            do
            {
                try
                {
                    var deleted = await DeleteExpiredAsync(ChunkSize, stoppingToken);
                    if (deleted > 0)
                    {
                        LogDeleted(logger, deleted, config.Retention.TotalHours);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogFailed(logger, Interval.TotalMinutes, ex.GetBaseException().Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Deletes every record older than the retention, <paramref name="chunkSize"/> rows per statement; returns how many.</summary>
    public async Task<int> DeleteExpiredAsync(int chunkSize, CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow() - config.Retention;
        var total = 0;
        while (true)
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
            var deleted = await db.AuditRecords.Where(e => e.Time < cutoff).OrderBy(e => e.Time).Take(chunkSize).ExecuteDeleteAsync(cancellationToken);
            total += deleted;
            if (deleted < chunkSize)
            {
                return total;
            }
        }
    }

    [LoggerMessage(EventId = 6010, Level = LogLevel.Information, Message = "Deleted {Count} audit record(s) older than the retention of {RetentionHours}h")]
    private static partial void LogDeleted(ILogger logger, int count, double retentionHours);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Warning, Message = "Deleting expired audit records failed; trying again in {Minutes} min: {Reason}")]
    private static partial void LogFailed(ILogger logger, double minutes, string reason);
}
