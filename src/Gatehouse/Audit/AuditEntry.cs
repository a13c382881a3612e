using System.Globalization;
using System.Text;

namespace Gatehouse.Audit;

/// <summary>
/// One row of the append-only <c>AuditRecords</c> table. Rows are inserted by <see cref="AuditWriter"/> and deleted
/// only by <see cref="AuditRetention"/> once older than <c>audit.retention</c>; nothing updates them.
/// </summary>
internal sealed class AuditEntry
{
    // Column sizes. Values come from clients, so they are cut to fit before insertion (Clean): one over-long value
    // must never fail a whole batch. Indexed columns stay under PostgreSQL's B-tree entry limit (2704 bytes).
    public const int RequestIdLength = 100;
    public const int UserLength = 320;
    public const int ClientIdLength = 1000;
    public const int RouteLength = 200;
    public const int SessionIdLength = 200;
    public const int JsonRpcIdLength = 200;
    public const int MethodLength = 200;
    public const int TargetLength = 500;
    public const int RuleLength = 1000;
    public const int DecisionLength = 16;

    /// <summary>
    /// The condition of the partial index on (Decision, Time). SQLite uses a partial index only for a query that states
    /// this condition itself (sqlite.org/partialindex.html §3), so <see cref="AuditLogReader"/> adds it to a query for
    /// any other decision; PostgreSQL infers it.
    /// </summary>
    public const string NotAllowedFilter = "\"Decision\" <> 'allowed'";

    /// <summary>Insertion order: records reach the table in the order the proxy wrote them.</summary>
    public long Id { get; set; }

    /// <summary>Stored as Unix milliseconds, so that both providers can compare it.</summary>
    public DateTimeOffset Time { get; set; }

    public required string RequestId { get; set; }

    public string? Subject { get; set; }

    /// <summary>Lower-case, so that <c>gatehouse audit --user</c> finds it through the index whatever the case.</summary>
    public string? Email { get; set; }

    public string? ClientId { get; set; }

    public required string Route { get; set; }

    public string? SessionId { get; set; }

    public string? JsonRpcId { get; set; }

    public string? Method { get; set; }

    public string? Target { get; set; }

    /// <summary>Redacted JSON text, a marker (<c>{"_truncated":true,"bytes":N}</c>), or null.</summary>
    public string? Arguments { get; set; }

    public AuditDecision Decision { get; set; }

    public string? Rule { get; set; }

    public int? UpstreamStatus { get; set; }

    public int? ErrorCode { get; set; }

    public double? LatencyMs { get; set; }

    public static AuditEntry From(AuditRecord record, string? arguments) => new()
    {
        Time = record.Time,
        RequestId = Clean(record.RequestId, RequestIdLength) ?? "",
        Subject = Clean(record.Subject, UserLength),
        Email = Clean(record.Email, UserLength)?.ToLowerInvariant(),
        ClientId = Clean(record.ClientId, ClientIdLength),
        Route = Clean(record.Route, RouteLength) ?? "",
        SessionId = Clean(record.SessionId, SessionIdLength),
        JsonRpcId = Clean(record.JsonRpcId, JsonRpcIdLength),
        Method = Clean(record.Method, MethodLength),
        Target = Clean(record.Target, TargetLength),
        Arguments = arguments,
        Decision = record.Decision,
        Rule = Clean(record.Rule, RuleLength),
        UpstreamStatus = record.UpstreamStatus,
        ErrorCode = record.ErrorCode,
        // NaN and infinities are no latency, and JSON cannot carry them.
        LatencyMs = record.LatencyMs is { } latency && double.IsFinite(latency) ? latency : null,
    };

    /// <summary>
    /// The value as it can be stored and printed safely: control characters written as <c>\uXXXX</c> (a newline in a
    /// tool name must not forge a log line or move a terminal's cursor), unpaired surrogates as U+FFFD (PostgreSQL
    /// refuses them), NUL included, and at most <paramref name="maxLength"/> characters, the last one <c>…</c> when cut.
    /// </summary>
    public static string? Clean(string? value, int maxLength)
    {
        // Printable ASCII, the usual case, in one scan; anything else in the three scans of what must change.
        if (value is null || (value.Length <= maxLength && (!value.AsSpan().ContainsAnyExceptInRange(' ', '~') ||
            (!value.AsSpan().ContainsAnyInRange('\0', '\u001f') && !value.AsSpan().ContainsAnyInRange('\u007f', '\u009f') &&
            !value.AsSpan().ContainsAnyInRange('\ud800', '\udfff')))))
        {
            return value;
        }

        var clean = new StringBuilder(value.Length + 8);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
            {
                clean.Append(c).Append(value[++i]);
            }
            else if (char.IsSurrogate(c))
            {
                clean.Append('\ufffd');
            }
            else if (char.IsControl(c))
            {
                clean.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                clean.Append(c);
            }
        }

        if (clean.Length <= maxLength)
        {
            return clean.ToString();
        }

        var cut = maxLength - 1;
        if (char.IsHighSurrogate(clean[cut - 1]))
        {
            cut--;
        }

        return clean.ToString(0, cut) + "…";
    }
}

internal static class AuditDecisions
{
    /// <summary>The lower-case name stored in the table and printed by the CLI and the log line.</summary>
    public static string ToText(AuditDecision decision) => decision switch
    {
        AuditDecision.Allowed => "allowed",
        AuditDecision.Denied => "denied",
        AuditDecision.Refused => "refused",
        AuditDecision.Failed => "failed",
        _ => decision.ToString().ToLowerInvariant(),
    };

    public static AuditDecision Parse(string text) => text switch
    {
        "allowed" => AuditDecision.Allowed,
        "denied" => AuditDecision.Denied,
        "refused" => AuditDecision.Refused,
        "failed" => AuditDecision.Failed,
        _ => Enum.Parse<AuditDecision>(text, ignoreCase: true),
    };
}
