using System.Threading.Channels;
using Gatehouse.Configuration;
using Gatehouse.Observability;

namespace Gatehouse.Audit;

/// <summary>
/// The sink the proxy writes to: a bounded channel that <see cref="AuditWriter"/> drains into the database. A write
/// copies what it must keep of the arguments and returns; when the channel is full it waits for room (never drops),
/// and the wait is counted. Once the gateway stops, the channel is closed and what arrives later is logged, not stored.
/// </summary>
internal sealed partial class AuditQueue : IAuditSink
{
    /// <summary>At most one "queue full" warning in this interval: a long outage would otherwise log per request.</summary>
    private static readonly TimeSpan s_fullWarningInterval = TimeSpan.FromSeconds(10);

    private readonly Channel<QueuedAuditRecord> _channel;
    private readonly AuditArguments _arguments;
    private readonly AuditLogLine _line;
    private readonly GatewayTelemetry _telemetry;
    private readonly TimeProvider _time;
    private readonly ILogger<AuditQueue> _logger;
    private readonly int _size;
    private long _lastFullWarning = long.MinValue;
    private volatile bool _closed;

    public AuditQueue(AuditConfig config, AuditArguments arguments, AuditLogLine line, GatewayTelemetry telemetry, TimeProvider time, ILogger<AuditQueue> logger)
    {
        _size = config.QueueSize;
        _channel = Channel.CreateBounded<QueuedAuditRecord>(new BoundedChannelOptions(config.QueueSize)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = false,
        });
        _arguments = arguments;
        _line = line;
        _telemetry = telemetry;
        _time = time;
        _logger = logger;
    }

    public ChannelReader<QueuedAuditRecord> Reader => _channel.Reader;

    /// <summary>True once the gateway is stopping: nothing more is accepted, and what is queued is being flushed.</summary>
    public bool IsClosed => _closed;

    public ValueTask WriteAsync(AuditRecord record, CancellationToken cancellationToken)
    {
        var queued = _arguments.Capture(record);
        return _channel.Writer.TryWrite(queued) ? ValueTask.CompletedTask : WaitAsync(queued, cancellationToken);
    }

    /// <summary>Accepts no more records; the writer flushes what is queued.</summary>
    public void Close()
    {
        _closed = true;
        _channel.Writer.TryComplete();
    }

    private async ValueTask WaitAsync(QueuedAuditRecord queued, CancellationToken cancellationToken)
    {
        if (!_closed)
        {
            _telemetry.AuditQueueFull.Add(1);
            WarnFull();
        }

        try
        {
            await _channel.Writer.WriteAsync(queued, cancellationToken);
        }
        catch (ChannelClosedException)
        {
            // A request that outlived the shutdown's grace period: too late for the database, not too late for the log.
            NotStored(queued, "the gateway is stopping");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            NotStored(queued, "its writer stopped waiting for room in the full queue");
            throw;
        }
    }

    private void NotStored(QueuedAuditRecord queued, string reason)
    {
        _line.WriteNotStored(AuditEntry.From(queued.Record, _arguments.Render(queued)));
        _telemetry.AuditLost.Add(1);
        AuditWriter.LogNotStored(_logger, 1, reason);
    }

    private void WarnFull()
    {
        var now = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastFullWarning);
        if ((last == long.MinValue || _time.GetElapsedTime(last, now) >= s_fullWarningInterval) &&
            Interlocked.CompareExchange(ref _lastFullWarning, now, last) == last)
        {
            LogFull(_logger, _size);
        }
    }

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning,
        Message = "The audit queue is full ({QueueSize} records): requests wait until the database takes more (gatehouse.audit.queue_full counts the waits)")]
    private static partial void LogFull(ILogger logger, int queueSize);
}

/// <summary>The sink when <c>audit.enabled</c> is false: records go nowhere, at no cost.</summary>
internal sealed class NullAuditSink : IAuditSink
{
    public static NullAuditSink Instance { get; } = new();

    public ValueTask WriteAsync(AuditRecord record, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
