using Gatehouse.Observability;
using Gatehouse.Storage;

namespace Gatehouse.Audit;

/// <summary>
/// Drains <see cref="AuditQueue"/> into the <c>AuditRecords</c> table in batches: up to <see cref="MaxBatchSize"/>
/// rows, or what arrived within <see cref="BatchWindow"/> of the first, in one transaction (<see cref="AuditInsert"/>).
/// A batch that fails is kept and retried with backoff until it is stored; meanwhile the queue is not drained, so it
/// fills and the proxy's writes wait (back-pressure) instead of records being dropped. On shutdown the queue is
/// closed and flushed; only if storage stays down past the host's shutdown timeout are the remaining records given
/// up, each written to the log at Warning and counted.
/// </summary>
internal sealed partial class AuditWriter(
    AuditQueue queue,
    AuditArguments arguments,
    AuditLogLine line,
    IServiceScopeFactory scopes,
    GatewayTelemetry telemetry,
    TimeProvider time,
    ILogger<AuditWriter> logger) : BackgroundService
{
    public const int MaxBatchSize = 500;

    public static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(200);

    private static readonly TimeSpan s_fillSlice = TimeSpan.FromMilliseconds(20);

    private static readonly TimeSpan[] s_retryDelays =
        [TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)];

    /// <summary>Cancelled only when the host's shutdown timeout runs out; stopping alone flushes rather than aborts.</summary>
    private readonly CancellationTokenSource _abort = new();

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => DrainAsync(_abort.Token);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Kestrel has stopped taking requests by now (the server stops before other hosted services), so no more
        // records are expected: close the queue and let the loop flush it, for as long as the host allows.
        queue.Close();
        using (cancellationToken.Register(static abort => ((CancellationTokenSource)abort!).Cancel(), _abort))
        {
            await base.StopAsync(cancellationToken);
        }
    }

    public override void Dispose()
    {
        base.Dispose();
        _abort.Dispose();
    }

    private async Task DrainAsync(CancellationToken abort)
    {
        var batch = new List<AuditEntry>(MaxBatchSize);
        try
        {
            while (await queue.Reader.WaitToReadAsync(abort))
            {
                await FillAsync(batch, abort);
                await StoreAsync(batch, abort);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // Shutdown ran out of time with storage down: the rest goes to the log, never silently away.
            foreach (var entry in batch)
            {
                line.WriteNotStored(entry);
            }

            var lost = batch.Count;
            while (queue.Reader.TryRead(out var queued))
            {
                line.WriteNotStored(Accept(queued, log: false));
                lost++;
            }

            telemetry.AuditLost.Add(lost);
            LogNotStored(logger, lost, "storage was still failing when the shutdown timeout ran out");
        }
    }

    /// <summary>
    /// Takes what is queued, then waits up to the batch window for more, until the batch is full. It looks again every
    /// <see cref="s_fillSlice"/> rather than waking for each record: under steady traffic a wake per record cost a
    /// thread-pool hop and two cancellation sources per MCP message, on the same cores as the proxy.
    /// </summary>
    private async Task FillAsync(List<AuditEntry> batch, CancellationToken abort)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            while (batch.Count < MaxBatchSize && queue.Reader.TryRead(out var queued))
            {
                batch.Add(Accept(queued, log: true));
            }

            var left = BatchWindow - time.GetElapsedTime(started);
            if (batch.Count >= MaxBatchSize || queue.IsClosed || left <= TimeSpan.Zero)
            {
                return;
            }

            await Task.Delay(left < s_fillSlice ? left : s_fillSlice, time, abort);
        }
    }

    /// <summary>Redacts and cleans a queued record (off the request path), and logs it when <c>audit.log</c> is on.</summary>
    private AuditEntry Accept(QueuedAuditRecord queued, bool log)
    {
        var entry = AuditEntry.From(queued.Record, arguments.Render(queued));
        if (log)
        {
            line.Write(entry);
        }

        return entry;
    }

    private async Task StoreAsync(List<AuditEntry> batch, CancellationToken abort)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await AuditInsert.InsertAsync(scope.ServiceProvider.GetRequiredService<GatehouseDbContext>(), batch, abort);
                telemetry.AuditWritten.Add(batch.Count);
                if (attempt > 0)
                {
                    LogStoredAfterRetries(logger, batch.Count, attempt + 1);
                }

                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !abort.IsCancellationRequested)
            {
                // The transaction was rolled back: the next attempt inserts the whole batch again.
                var delay = s_retryDelays[Math.Min(attempt, s_retryDelays.Length - 1)];
                LogStoreFailed(logger, batch.Count, attempt + 1, delay.TotalSeconds, ex.GetBaseException().Message);
                await Task.Delay(delay, time, abort);
            }
        }
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning,
        Message = "Storing {Count} audit record(s) failed (attempt {Attempt}); they are kept and retried in {DelaySeconds} s: {Reason}")]
    private static partial void LogStoreFailed(ILogger logger, int count, int attempt, double delaySeconds, string reason);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Stored {Count} audit record(s) at attempt {Attempt}: audit storage works again")]
    private static partial void LogStoredAfterRetries(ILogger logger, int count, int attempt);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Error,
        Message = "{Count} audit record(s) could not be stored: {Reason}. Each is in the log at Warning (event 6000) and counted in gatehouse.audit.lost")]
    internal static partial void LogNotStored(ILogger logger, int count, string reason);
}
