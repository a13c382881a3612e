using System.Buffers;
using System.Text.Json;

namespace Gatehouse.Mcp;

/// <summary>
/// What the gateway wants from the upstream's answer to one POST: the listings to filter (<c>tools/list</c> and
/// friends, by request id) and the outcome of each request (JSON-RPC error code or success) for the audit log.
/// Set as an HttpContext feature by the policy middleware; read by <see cref="McpResponseInspector"/>.
/// </summary>
internal sealed class McpResponseWatch
{
    private readonly Dictionary<string, string> _listings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int?> _outcomes = new(StringComparer.Ordinal);

    /// <summary>Whether an item of a listing may be shown: the method it would be used with, and its name or URI.</summary>
    public required Func<string, string, bool> IsVisible { get; init; }

    public bool IsEmpty => _listings.Count == 0 && _outcomes.Count == 0;

    /// <summary>True when only outcomes are read: nothing in the answer can change, so no document needs building.</summary>
    internal bool FiltersNothing => _listings.Count == 0;

    /// <summary>The answer to request <paramref name="rawId"/> is a listing of <paramref name="method"/> to filter.</summary>
    public void FilterListing(string rawId, string method) => _listings[rawId] = method;

    /// <summary>Record how request <paramref name="rawId"/> ended.</summary>
    public void WatchOutcome(string rawId) => _outcomes.TryAdd(rawId, null);

    /// <summary>How request <paramref name="rawId"/> ended: 0 for a result, the JSON-RPC error code, or null when unseen.</summary>
    public int? OutcomeOf(string rawId) => _outcomes.GetValueOrDefault(rawId);

    internal bool IsWatched(string rawId) => _listings.ContainsKey(rawId) || _outcomes.ContainsKey(rawId);

    internal string? ListingOf(string rawId) => _listings.GetValueOrDefault(rawId);

    internal void SetOutcome(string rawId, int errorCode)
    {
        if (_outcomes.ContainsKey(rawId))
        {
            _outcomes[rawId] = errorCode;
        }
    }
}

/// <summary>
/// Filters listing results and reads outcomes from a JSON-RPC response (one message or a batch array), returning the
/// bytes to send on: the original bytes untouched when nothing in them is watched or changed.
/// </summary>
internal static class McpResponseRewriter
{
    /// <summary>The array of a listing result and the member of each item that names it, per listing method.</summary>
    private static (string Array, string Member, string UsedWith)? Listing(string method) => method switch
    {
        McpMethods.ToolsList => ("tools", "name", McpMethods.ToolsCall),
        McpMethods.PromptsList => ("prompts", "name", McpMethods.PromptsGet),
        McpMethods.ResourcesList => ("resources", "uri", McpMethods.ResourcesRead),
        McpMethods.ResourceTemplatesList => ("resourceTemplates", "uriTemplate", McpMethods.ResourcesRead),
        _ => null,
    };

    /// <summary>Whether answers to <paramref name="method"/> are listings that policy filters.</summary>
    public static bool IsListing(string? method) => method is not null && Listing(method) is not null;

    /// <summary>Processes one JSON payload; returns null when it passes unchanged.</summary>
    public static byte[]? Process(ReadOnlySpan<byte> json, McpResponseWatch watch)
    {
        if (watch.FiltersNothing)
        {
            // The common case (tools/call and the like, watched for the audit log only): a forward-only read of the
            // top-level members, without building a document or copying the payload.
            ReadOutcomes(json, watch);
            return null;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException)
        {
            // Not JSON (or not ours to read): the client gets it as the upstream sent it.
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                var changed = false;
                foreach (var element in root.EnumerateArray())
                {
                    changed |= Observe(element, watch);
                }

                return changed ? WriteArray(root, watch) : null;
            }

            return root.ValueKind == JsonValueKind.Object && Observe(root, watch) ? Write(root, watch) : null;
        }
    }

    /// <summary>Records the outcome of every watched response in a message or a batch array; reads nothing else.</summary>
    private static void ReadOutcomes(ReadOnlySpan<byte> json, McpResponseWatch watch)
    {
        var reader = new Utf8JsonReader(json);
        try
        {
            if (!reader.Read())
            {
                return;
            }

            if (reader.TokenType == JsonTokenType.StartObject)
            {
                ReadOutcome(ref reader, json, watch);
                return;
            }

            if (reader.TokenType != JsonTokenType.StartArray)
            {
                return;
            }

            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadOutcome(ref reader, json, watch);
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON (or not ours to read): the client gets it as the upstream sent it, and no outcome is recorded.
        }
    }

    /// <summary>
    /// One message, the reader on its <c>{</c>: the same outcome <see cref="Observe"/> records, the error's code or 0,
    /// for an id the watch knows. The id is compared as its raw JSON text, as <see cref="McpBodyInspector"/> took it
    /// from the request.
    /// </summary>
    private static void ReadOutcome(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, McpResponseWatch watch)
    {
        string? rawId = null;
        int? errorCode = null;
        var isRequest = false;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                rawId = reader.TokenType is JsonTokenType.Number or JsonTokenType.String ? McpBodyInspector.RawIdText(ref reader, json) : null;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("error"u8))
            {
                reader.Read();
                errorCode = ReadErrorCode(ref reader);
            }
            else
            {
                // A server request ("method") may reuse a client's id: its id names nothing the client asked.
                isRequest |= reader.ValueTextEquals("method"u8);
                reader.Read();
                reader.Skip();
            }
        }

        if (rawId is not null && !isRequest && watch.IsWatched(rawId))
        {
            watch.SetOutcome(rawId, errorCode ?? 0);
        }
    }

    /// <summary>The reader on an error's value: its integer <c>code</c>, else -32603 (internal error), as <see cref="Observe"/>.</summary>
    private static int ReadErrorCode(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return -32603;
        }

        var code = -32603;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isCode = reader.ValueTextEquals("code"u8);
            reader.Read();
            if (isCode && reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value))
            {
                code = value;
            }

            reader.Skip();
        }

        return code;
    }

    /// <summary>Records the outcome of a watched response; true when it is a listing whose items must be filtered.</summary>
    private static bool Observe(JsonElement message, McpResponseWatch watch)
    {
        if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("id"u8, out var id) || id.ValueKind is not (JsonValueKind.Number or JsonValueKind.String) ||
            message.TryGetProperty("method"u8, out _))
        {
            // Not a response: a server request ("method") may reuse a client's id, and names nothing the client asked.
            return false;
        }

        var rawId = id.GetRawText();
        if (!watch.IsWatched(rawId))
        {
            return false;
        }

        if (message.TryGetProperty("error"u8, out var error))
        {
            watch.SetOutcome(rawId, error.ValueKind == JsonValueKind.Object && error.TryGetProperty("code"u8, out var code) && code.TryGetInt32(out var value) ? value : -32603);
            return false;
        }

        watch.SetOutcome(rawId, 0);
        return watch.ListingOf(rawId) is not null && message.TryGetProperty("result"u8, out var result) && result.ValueKind == JsonValueKind.Object;
    }

    private static byte[] WriteArray(JsonElement array, McpResponseWatch watch)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            foreach (var element in array.EnumerateArray())
            {
                WriteMessage(writer, element, watch);
            }

            writer.WriteEndArray();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Write(JsonElement message, McpResponseWatch watch)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteMessage(writer, message, watch);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteMessage(Utf8JsonWriter writer, JsonElement message, McpResponseWatch watch)
    {
        var listing = message.ValueKind == JsonValueKind.Object && message.TryGetProperty("id"u8, out var id) && id.ValueKind is JsonValueKind.Number or JsonValueKind.String
            ? watch.ListingOf(id.GetRawText()) is { } method ? Listing(method) : null
            : null;
        if (listing is not { } shape || !message.TryGetProperty("result"u8, out _))
        {
            message.WriteTo(writer);
            return;
        }

        writer.WriteStartObject();
        foreach (var member in message.EnumerateObject())
        {
            if (!member.NameEquals("result"u8) || member.Value.ValueKind != JsonValueKind.Object)
            {
                member.WriteTo(writer);
                continue;
            }

            writer.WritePropertyName(member.Name);
            writer.WriteStartObject();
            foreach (var resultMember in member.Value.EnumerateObject())
            {
                if (!resultMember.NameEquals(shape.Array) || resultMember.Value.ValueKind != JsonValueKind.Array)
                {
                    resultMember.WriteTo(writer);
                    continue;
                }

                writer.WritePropertyName(resultMember.Name);
                writer.WriteStartArray();
                foreach (var item in resultMember.Value.EnumerateArray())
                {
                    // An item without its name is not shown: the gateway cannot tell whether policy allows it.
                    if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty(shape.Member, out var name) &&
                        name.ValueKind == JsonValueKind.String && watch.IsVisible(shape.UsedWith, name.GetString()!))
                    {
                        item.WriteTo(writer);
                    }
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }
}
