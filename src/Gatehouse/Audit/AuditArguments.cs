using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gatehouse.Configuration;

namespace Gatehouse.Audit;

/// <summary>
/// What the audit log keeps of <c>params.arguments</c>: nothing when arguments are off, a marker with the size when
/// they are over <c>max_bytes</c>, otherwise the JSON with the value of every key that names a secret replaced by
/// <c>"[redacted]"</c>, at any depth (docs/audit.md). Nothing unredacted is stored or logged: JSON that cannot be
/// read is recorded as a marker too, never as text.
/// </summary>
internal sealed class AuditArguments(AuditArgumentsConfig config)
{
    public const string Redacted = "[redacted]";

    private static readonly JsonWriterOptions s_writerOptions = new()
    {
        // Readable non-ASCII text; control characters, quotes and backslashes are still escaped, so the result is
        // one line of valid JSON that cannot break a log line.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonReaderOptions s_readerOptions = new() { MaxDepth = 256 };

    public AuditArgumentsConfig Config => config;

    /// <summary>
    /// On the request path: a copy of what will be recorded (the caller's buffer may be reused once the write returns),
    /// without copying arguments that are off or over the cap. Returns the caller's record when there is nothing to copy.
    /// </summary>
    public QueuedAuditRecord Capture(AuditRecord record)
    {
        var arguments = record.Arguments;
        if (arguments.IsEmpty)
        {
            return new QueuedAuditRecord(record, 0);
        }

        if (!config.Enabled)
        {
            return new QueuedAuditRecord(record with { Arguments = default }, 0);
        }

        return arguments.Length > config.MaxBytes
            ? new QueuedAuditRecord(record with { Arguments = default }, arguments.Length)
            : new QueuedAuditRecord(record with { Arguments = arguments.ToArray() }, arguments.Length);
    }

    /// <summary>Off the request path: the JSON text to store and log for a captured record, or null for none.</summary>
    public string? Render(QueuedAuditRecord queued)
    {
        if (queued.ArgumentBytes == 0)
        {
            return null;
        }

        return queued.Record.Arguments.IsEmpty
            ? Marker("_truncated", queued.ArgumentBytes)
            : Redact(queued.Record.Arguments.Span, config.RedactKeys);
    }

    /// <summary>
    /// Copies <paramref name="json"/> token by token, writing <c>"[redacted]"</c> in place of the value (a string,
    /// number, object or array alike) of every property whose name contains one of <paramref name="redactKeys"/>
    /// (compared without case, after JSON unescaping so that <c>"pass\u0077ord"</c> is caught too).
    /// </summary>
    public static string Redact(ReadOnlySpan<byte> json, IReadOnlyList<string> redactKeys) =>
        AsIs(json, redactKeys) ?? Rewrite(json, redactKeys);

    /// <summary>
    /// The arguments' text itself when the copy below would give exactly that text, or null: compact printable ASCII
    /// (nothing to unescape, no whitespace to drop), valid JSON, and no redacted key anywhere in it, not even inside a
    /// value. Most tool arguments are like that, and checking costs a fraction of a copy through the writer, once per
    /// audited message (docs/performance.md, "Policy and audit cost").
    /// </summary>
    internal static string? AsIs(ReadOnlySpan<byte> json, IReadOnlyList<string> redactKeys)
    {
        if (json.IsEmpty || json.IndexOfAnyExceptInRange((byte)0x20, (byte)0x7e) >= 0 || json.Contains((byte)'\\'))
        {
            return null;
        }

        if (ContainsAnyKey(json, redactKeys))
        {
            return null;
        }

        var reader = new Utf8JsonReader(json, s_readerOptions);
        var end = 0L;
        try
        {
            while (reader.Read())
            {
                // Between two tokens the copy writes only the separator: anything else (a space) would be dropped.
                var gap = json[(int)end..(int)reader.TokenStartIndex];
                if (gap.Length > 1 || (gap.Length == 1 && gap[0] is not ((byte)',' or (byte)':')))
                {
                    return null;
                }

                end = reader.BytesConsumed;
                if (reader.TokenType == JsonTokenType.PropertyName)
                {
                    // The reader takes the colon (and any whitespace around it) with the name.
                    var name = reader.TokenStartIndex + reader.ValueSpan.Length + 2;
                    if (end - name > 1)
                    {
                        return null;
                    }
                }
            }
        }
        catch (JsonException)
        {
            return null;
        }

        return reader.CurrentDepth == 0 && end == json.Length ? Encoding.ASCII.GetString(json) : null;
    }

    /// <summary>Whether any key occurs anywhere in <paramref name="json"/> (ASCII, without case); true for a key that is not ASCII.</summary>
    private static bool ContainsAnyKey(ReadOnlySpan<byte> json, IReadOnlyList<string> redactKeys)
    {
        var rented = json.Length <= 512 ? null : ArrayPool<byte>.Shared.Rent(json.Length);
        try
        {
            Span<byte> lower = rented ?? stackalloc byte[512];
            Ascii.ToLower(json, lower, out var written);
            lower = lower[..written];
            Span<byte> key = stackalloc byte[128];
            foreach (var name in redactKeys)
            {
                if (name.Length > key.Length || !Ascii.IsValid(name))
                {
                    return true;
                }

                Ascii.ToLower(name, key, out var length);
                if (lower.IndexOf(key[..length]) >= 0)
                {
                    return true;
                }
            }

            return false;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The copy token by token that <see cref="Redact"/> describes.</summary>
    internal static string Rewrite(ReadOnlySpan<byte> json, IReadOnlyList<string> redactKeys)
    {
        var output = new ArrayBufferWriter<byte>(json.Length + 32);
        try
        {
            using var writer = new Utf8JsonWriter(output, s_writerOptions);
            var reader = new Utf8JsonReader(json, s_readerOptions);
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        writer.WriteStartObject();
                        break;
                    case JsonTokenType.EndObject:
                        writer.WriteEndObject();
                        break;
                    case JsonTokenType.StartArray:
                        writer.WriteStartArray();
                        break;
                    case JsonTokenType.EndArray:
                        writer.WriteEndArray();
                        break;
                    case JsonTokenType.PropertyName:
                        var name = reader.GetString()!;
                        writer.WritePropertyName(name);
                        if (Matches(name, redactKeys))
                        {
                            reader.Read();
                            reader.Skip();
                            writer.WriteStringValue(Redacted);
                        }

                        break;
                    case JsonTokenType.String when reader.ValueIsEscaped:
                        writer.WriteStringValue(reader.GetString());
                        break;
                    case JsonTokenType.String:
                        writer.WriteStringValue(reader.ValueSpan);
                        break;
                    case JsonTokenType.Number:
                        // As written: 1e400 or 0.10000000000000001 would not survive a round trip through double.
                        writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                        break;
                    case JsonTokenType.True or JsonTokenType.False:
                        writer.WriteBooleanValue(reader.TokenType == JsonTokenType.True);
                        break;
                    case JsonTokenType.Null:
                        writer.WriteNullValue();
                        break;
                }
            }

            writer.Flush();
            if (writer.CurrentDepth != 0 || output.WrittenCount == 0)
            {
                return Marker("_unreadable", json.Length);
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            // Not JSON (or JSON holding an unpaired surrogate): storing the text could store a secret unredacted.
            return Marker("_unreadable", json.Length);
        }

        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    private static bool Matches(string name, IReadOnlyList<string> redactKeys)
    {
        foreach (var key in redactKeys)
        {
            if (name.Contains(key, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary><c>{"_truncated":true,"bytes":N}</c> or <c>{"_unreadable":true,"bytes":N}</c>: valid JSON, and no content.</summary>
    private static string Marker(string kind, int bytes) =>
        string.Create(CultureInfo.InvariantCulture, $"{{\"{kind}\":true,\"bytes\":{bytes}}}");
}

/// <summary>A record in the queue: <see cref="AuditRecord.Arguments"/> is the sink's own copy (or empty), and <see cref="ArgumentBytes"/> their size as sent.</summary>
internal readonly record struct QueuedAuditRecord(AuditRecord Record, int ArgumentBytes);
