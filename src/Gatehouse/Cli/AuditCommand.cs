using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Audit;
using Gatehouse.Configuration;

namespace Gatehouse.Cli;

/// <summary>
/// <c>gatehouse audit</c>: prints the audit log from the configuration's storage (docs/audit.md), as a table or as
/// one JSON object per line. Works without a running gateway.
/// </summary>
internal static partial class AuditCommand
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 100_000;

    /// <summary>Table cells are cut to this many characters; <c>--json</c> prints every value whole.</summary>
    private const int CellLength = 60;

    private static readonly JsonWriterOptions s_lineOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var config = CliOptions.Config();
        var since = new Option<string?>("--since")
        {
            Description = "Only records at or after this: a duration back from now (30m, 1h, 720h) or an instant (2026-12-01T08:00:00Z, 2026-12-01 = midnight UTC).",
        };
        var until = new Option<string?>("--until") { Description = "Only records before this: an instant, or a duration back from now." };
        var user = new Option<string?>("--user") { Description = "Only this user's records (their email, in any case)." };
        var route = new Option<string?>("--route") { Description = "Only records of this route (its `name`)." };
        var tool = new Option<string?>("--tool") { Description = "Only records about this tool, prompt or resource URI." };
        var decision = new Option<string?>("--decision") { Description = "Only records with this decision: allowed, denied, refused or failed." };
        var requestId = new Option<string?>("--request-id") { Description = "Only the records of this request (the data.request_id of a denial)." };
        var limit = new Option<int>("--limit")
        {
            Description = $"At most this many records (1 to {MaxLimit}): the newest that match, printed oldest first.",
            DefaultValueFactory = _ => DefaultLimit,
        };
        var json = new Option<bool>("--json") { Description = "Print one JSON object per line, with the arguments, instead of a table." };

        var command = new Command("audit", "Print the audit log: who called what, with which arguments, and whether it was allowed.")
        {
            config, since, until, user, route, tool, decision, requestId, limit, json,
        };
        command.SetAction((parse, cancellationToken) => CommandStorage.RunAsync(parse, config, (_, problems) =>
        {
            var now = TimeProvider.System.GetUtcNow();
            var filter = new AuditFilter
            {
                Since = CheckInstant("--since", parse.GetValue(since), now, problems),
                Until = CheckInstant("--until", parse.GetValue(until), now, problems),
                Email = CheckText("--user", parse.GetValue(user), problems)?.ToLowerInvariant(),
                Route = CheckText("--route", parse.GetValue(route), problems),
                Target = CheckText("--tool", parse.GetValue(tool), problems),
                Decision = CheckDecision(parse.GetValue(decision), problems),
                RequestId = CheckText("--request-id", parse.GetValue(requestId), problems),
                Limit = CheckLimit(parse.GetValue(limit), problems),
            };
            if (filter is { Since: { } from, Until: { } to } && from >= to)
            {
                problems.Add($"--since ({TextTable.Timestamp(from)}) is not before --until ({TextTable.Timestamp(to)}); nothing could match.");
            }

            return async storage =>
            {
                var (entries, more) = await storage.Audit.ReadAsync(filter, cancellationToken);
                var output = parse.InvocationConfiguration.Output;
                if (parse.GetValue(json))
                {
                    foreach (var entry in entries)
                    {
                        await output.WriteLineAsync(JsonLine(entry));
                    }
                }
                else
                {
                    await output.WriteLineAsync(entries.Count == 0 ? "No audit records match." : Table(entries));
                }

                if (more)
                {
                    await parse.InvocationConfiguration.Error.WriteLineAsync(
                        $"Showing the newest {filter.Limit} matching records; older ones match too (raise --limit, or narrow with --since).");
                }

                return 0;
            };
        }, cancellationToken));
        return command;
    }

    /// <summary>A duration back from <paramref name="now"/>, or an instant written as an ISO 8601 date or date and time (UTC unless it says otherwise).</summary>
    internal static DateTimeOffset? CheckInstant(string option, string? value, DateTimeOffset now, List<string> problems)
    {
        var text = value?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (Duration.TryParse(text, out var ago))
        {
            return now - ago;
        }

        if (IsoDate().IsMatch(text) &&
            DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant))
        {
            return instant;
        }

        problems.Add($"{option}: `{text}` is neither a duration (30m, 1h, 720h; units ms, s, m, h) nor an instant (2026-12-01T08:00:00Z, 2026-12-01).");
        return null;
    }

    private static string? CheckText(string option, string? value, List<string> problems)
    {
        var text = value?.Trim();
        if (text is { Length: 0 })
        {
            problems.Add($"{option}: the value is empty; give one, or leave the option out.");
            return null;
        }

        return text;
    }

    private static AuditDecision? CheckDecision(string? value, List<string> problems)
    {
        switch (value?.Trim().ToLowerInvariant())
        {
            case null:
                return null;
            case "allowed" or "allow":
                return AuditDecision.Allowed;
            case "denied" or "deny":
                return AuditDecision.Denied;
            case "refused" or "refuse":
                return AuditDecision.Refused;
            case "failed" or "fail":
                return AuditDecision.Failed;
            default:
                problems.Add($"--decision: `{value}` is not a decision; use allowed, denied, refused or failed.");
                return null;
        }
    }

    private static int CheckLimit(int limit, List<string> problems)
    {
        if (limit is < 1 or > MaxLimit)
        {
            problems.Add($"--limit: {limit} is out of range; give a number from 1 to {MaxLimit}.");
            return DefaultLimit;
        }

        return limit;
    }

    private static string Table(List<AuditEntry> entries) => TextTable.Render(
        ["TIME", "USER", "CLIENT", "ROUTE", "METHOD", "TARGET", "DECISION", "RULE", "STATUS", "LATENCY"],
        entries.Select(e => new[]
        {
            e.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            Cell(e.Email ?? e.Subject), Cell(e.ClientId), Cell(e.Route), Cell(e.Method), Cell(e.Target), AuditDecisions.ToText(e.Decision), Cell(e.Rule),
            Status(e.UpstreamStatus, e.ErrorCode),
            e.LatencyMs is { } ms ? ms.ToString("0.##", CultureInfo.InvariantCulture) + "ms" : "-",
        }));

    /// <summary>
    /// One line per cell, whatever a client put in a tool name: control characters (a terminal escape sequence, a
    /// newline) are shown escaped, spaces as they are; long values are cut.
    /// </summary>
    private static string Cell(string? value) => string.IsNullOrEmpty(value) ? "-" : AuditEntry.Clean(value, CellLength)!;

    private static string Status(int? upstreamStatus, int? errorCode) => (upstreamStatus, errorCode) switch
    {
        ({ } status, { } code) => string.Create(CultureInfo.InvariantCulture, $"{status} err {code}"),
        ({ } status, null) => status.ToString(CultureInfo.InvariantCulture),
        (null, { } code) => string.Create(CultureInfo.InvariantCulture, $"err {code}"),
        _ => "-",
    };

    /// <summary>A record as one line of JSON; the JSON-RPC id and the arguments as JSON values, not strings.</summary>
    internal static string JsonLine(AuditEntry entry)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer, s_lineOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("time", entry.Time.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            writer.WriteString("request_id", entry.RequestId);
            writer.WriteString("subject", entry.Subject);
            writer.WriteString("email", entry.Email);
            writer.WriteString("client_id", entry.ClientId);
            writer.WriteString("route", entry.Route);
            writer.WriteString("session_id", entry.SessionId);
            WriteJson(writer, "jsonrpc_id", entry.JsonRpcId);
            writer.WriteString("method", entry.Method);
            writer.WriteString("target", entry.Target);
            WriteJson(writer, "arguments", entry.Arguments);
            writer.WriteString("decision", AuditDecisions.ToText(entry.Decision));
            writer.WriteString("rule", entry.Rule);
            WriteNumber(writer, "upstream_status", entry.UpstreamStatus);
            WriteNumber(writer, "error_code", entry.ErrorCode);
            if (entry.LatencyMs is { } latency)
            {
                writer.WriteNumber("latency_ms", latency);
            }
            else
            {
                writer.WriteNull("latency_ms");
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteNumber(Utf8JsonWriter writer, string name, int? value)
    {
        if (value is { } number)
        {
            writer.WriteNumber(name, number);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    /// <summary>Stored JSON text as a JSON value; text that is not JSON (written by something else) as a string.</summary>
    private static void WriteJson(Utf8JsonWriter writer, string name, string? json)
    {
        writer.WritePropertyName(name);
        if (json is null)
        {
            writer.WriteNullValue();
        }
        else if (IsJson(json))
        {
            writer.WriteRawValue(json, skipInputValidation: true);
        }
        else
        {
            writer.WriteStringValue(json);
        }
    }

    private static bool IsJson(string text)
    {
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text));
            reader.Read();
            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}(?:$|[T ])")]
    private static partial Regex IsoDate();
}
