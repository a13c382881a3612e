using System.Globalization;
using Gatehouse.Configuration;

namespace Gatehouse.Audit;

/// <summary>
/// An audit record as one structured log line (category <c>Gatehouse.Audit</c>, event 6000): at Information for
/// every record when <c>audit.log</c> is on, and at Warning, whatever that setting, for a record that could not be
/// stored. Values are already cleaned and the arguments redacted (<see cref="AuditEntry.From"/>).
/// </summary>
internal sealed partial class AuditLogLine(AuditConfig config, ILoggerFactory loggers)
{
    public const string Category = "Gatehouse.Audit";

    private readonly ILogger _logger = loggers.CreateLogger(Category);

    public void Write(AuditEntry entry)
    {
        if (config.Log)
        {
            Write(entry, LogLevel.Information);
        }
    }

    public void WriteNotStored(AuditEntry entry) => Write(entry, LogLevel.Warning);

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1873", Justification = "Guarded by IsEnabled: the arguments are built only for a line that is written.")]
    private void Write(AuditEntry entry, LogLevel level)
    {
        if (_logger.IsEnabled(level))
        {
            LogRecord(_logger, level, AuditDecisions.ToText(entry.Decision), entry.Route, entry.Method, entry.Target, entry.Email, entry.ClientId,
                entry.Rule, entry.UpstreamStatus, entry.ErrorCode, entry.LatencyMs, entry.RequestId, entry.SessionId, entry.JsonRpcId,
                entry.Subject, FormatTime(entry.Time), entry.Arguments);
        }
    }

    /// <summary>
    /// ISO 8601 in UTC to the millisecond (<c>2026-12-01T15:04:05.123Z</c>), as the console timestamps are: the
    /// round-trip format cut after the milliseconds, which formats several times faster than the equivalent custom
    /// pattern, once per record.
    /// </summary>
    internal static string FormatTime(DateTimeOffset time)
    {
        Span<char> text = stackalloc char[40];
        time.UtcDateTime.TryFormat(text, out _, "O", CultureInfo.InvariantCulture);
        text[23] = 'Z';
        return new string(text[..24]);
    }

    [LoggerMessage(EventId = 6000, EventName = "AuditRecord",
        Message = "{Decision} {Route} {Method} {Target} user={Email} client={ClientId} rule={Rule} status={UpstreamStatus} error={ErrorCode} " +
            "latency_ms={LatencyMs} request_id={RequestId} session={SessionId} jsonrpc_id={JsonRpcId} subject={Subject} time={Time} arguments={Arguments}")]
    private static partial void LogRecord(ILogger logger, LogLevel level, string decision, string route, string? method, string? target, string? email,
        string? clientId, string? rule, int? upstreamStatus, int? errorCode, double? latencyMs, string requestId, string? sessionId, string? jsonRpcId,
        string? subject, string time, string? arguments);
}
