using System.Buffers;
using System.Text.Json;
using Gatehouse.Proxy;

namespace Gatehouse.Mcp;

/// <summary>
/// Reads a whole MCP POST body and either describes every message in it or says why it is refused. Policies judge
/// what this returns, so anything two JSON parsers could read differently is refused here rather than passed on:
/// malformed JSON, a member that appears twice in one object (the gateway and the server might each take a
/// different one), a known method in another letter case, a tool name outside the characters MCP allows.
/// </summary>
internal static class McpBodyInspector
{
    /// <summary>JSON-RPC 2.0 §5.1: invalid JSON was received.</summary>
    public const int ParseError = -32700;

    /// <summary>JSON-RPC 2.0 §5.1: invalid method parameters.</summary>
    public const int InvalidParams = -32602;

    private static readonly JsonReaderOptions s_options = new() { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 };

    /// <summary>Member-name lists per depth, reused by each thread: the scan is synchronous, so nothing is shared.</summary>
    [ThreadStatic]
    private static List<(int Hash, int Start, int Length)>[]? t_frames;

    public static (McpBody? Body, McpRefusal? Refusal) Inspect(ReadOnlyMemory<byte> body)
    {
        if (FindStructuralProblem(body.Span) is { } problem)
        {
            return (null, problem);
        }

        var reader = new Utf8JsonReader(body.Span, s_options);
        reader.Read();
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            var (message, refusal) = ReadMessage(ref reader, body);
            return refusal is null ? (new McpBody { IsBatch = false, Messages = [message!] }, null) : (null, refusal);
        }

        if (reader.TokenType != JsonTokenType.StartArray)
        {
            return (null, new McpRefusal(StatusCodes.Status400BadRequest, JsonRpcErrors.InvalidRequest, "The body must be a JSON-RPC message (an object) or a batch (an array)."));
        }

        var messages = new List<McpMessage>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return (null, new McpRefusal(StatusCodes.Status400BadRequest, JsonRpcErrors.InvalidRequest, "Every element of a batch must be a JSON-RPC message (an object)."));
            }

            var (message, refusal) = ReadMessage(ref reader, body);
            if (refusal is not null)
            {
                return (null, refusal);
            }

            messages.Add(message!);
        }

        return messages.Count == 0
            ? (null, new McpRefusal(StatusCodes.Status400BadRequest, JsonRpcErrors.InvalidRequest, "An empty batch is not a valid request (JSON-RPC 2.0 §6)."))
            : (new McpBody { IsBatch = true, Messages = messages }, null);
    }

    /// <summary>
    /// Tool names are 1 to 128 characters of A-Z, a-z, 0-9, <c>_</c>, <c>-</c> and <c>.</c> (MCP 2025-11-25, "Tool
    /// Names"): anything else could be read differently by the server than by a rule.
    /// </summary>
    /// <summary>
    /// The current token (an id: a number or a string) as its raw JSON text, quotes and escapes included. Ids are
    /// compared in this form wherever the gateway matches a response to its request, so <c>1</c>, <c>"1"</c> and
    /// <c>"\u0031"</c> stay three different ids, as they are on the wire.
    /// </summary>
    internal static string RawIdText(ref Utf8JsonReader reader, ReadOnlySpan<byte> json) =>
        System.Text.Encoding.UTF8.GetString(json.Slice((int)reader.TokenStartIndex, (int)(reader.BytesConsumed - reader.TokenStartIndex)));

    public static bool IsValidToolName(string name)
    {
        if (name.Length is 0 or > 128)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// One pass over the whole body: valid JSON (RFC 8259), and no object with the same member name twice, compared
    /// after unescaping (<c>"n\u0061me"</c> is <c>name</c>). RFC 8259 §4 leaves duplicates' meaning to each parser,
    /// which is exactly what an attacker needs to show a rule one tool and the server another.
    /// </summary>
    private static McpRefusal? FindStructuralProblem(ReadOnlySpan<byte> body)
    {
        var names = ArrayPool<byte>.Shared.Rent(Math.Max(256, body.Length));
        var frames = t_frames ??= new List<(int Hash, int Start, int Length)>[s_options.MaxDepth + 1];
        var used = 0;
        try
        {
            var reader = new Utf8JsonReader(body, s_options);
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        (frames[reader.CurrentDepth] ??= new List<(int, int, int)>(8)).Clear();
                        break;
                    case JsonTokenType.PropertyName:
                        var frame = frames[reader.CurrentDepth - 1]!;
                        var start = used;
                        var length = reader.ValueIsEscaped
                            ? reader.CopyString(names.AsSpan(used))
                            : CopyRaw(reader.ValueSpan, names.AsSpan(used));
                        var name = names.AsSpan(start, length);
                        var hasher = default(HashCode);
                        hasher.AddBytes(name);
                        var hash = hasher.ToHashCode();
                        foreach (var (otherHash, otherStart, otherLength) in frame)
                        {
                            if (otherHash == hash && names.AsSpan(otherStart, otherLength).SequenceEqual(name))
                            {
                                return new McpRefusal(StatusCodes.Status400BadRequest, JsonRpcErrors.InvalidRequest,
                                    $"The member \"{System.Text.Encoding.UTF8.GetString(name)}\" appears twice in one object; send each member once.");
                            }
                        }

                        frame.Add((hash, start, length));
                        used += length;
                        break;
                }
            }

            return null;
        }
        catch (JsonException)
        {
            return new McpRefusal(StatusCodes.Status400BadRequest, ParseError, "The body is not valid JSON.");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(names);
        }
    }

    private static int CopyRaw(ReadOnlySpan<byte> value, Span<byte> destination)
    {
        value.CopyTo(destination);
        return value.Length;
    }

    private static (McpMessage? Message, McpRefusal? Refusal) ReadMessage(ref Utf8JsonReader reader, ReadOnlyMemory<byte> body)
    {
        var depth = reader.CurrentDepth;
        string? version = null, rawId = null, method = null;
        var hasId = false;
        var hasResult = false;
        var methodIsString = true;
        var parameters = new McpParams(null, true, null, true, default);
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.ValueTextEquals("jsonrpc"u8))
            {
                reader.Read();
                version = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                hasId = true;
                if (reader.TokenType is JsonTokenType.Number or JsonTokenType.String)
                {
                    rawId = RawIdText(ref reader, body.Span);
                }

                reader.Skip();
            }
            else if (reader.ValueTextEquals("method"u8))
            {
                reader.Read();
                methodIsString = reader.TokenType == JsonTokenType.String;
                method = methodIsString ? reader.GetString() : null;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("params"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    parameters = ReadParams(ref reader, body);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("result"u8) || reader.ValueTextEquals("error"u8))
            {
                hasResult = true;
                reader.Read();
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (version != "2.0")
        {
            return Invalid("A JSON-RPC message must have \"jsonrpc\": \"2.0\".", rawId);
        }

        if (hasId && rawId is null)
        {
            // JSON-RPC 2.0 §4: an id is a string or a number; MCP (Basic, "Requests") also forbids null.
            return Invalid("A request id must be a string or a number.", null);
        }

        if (!methodIsString)
        {
            return Invalid("\"method\" must be a string.", rawId);
        }

        if (method is null)
        {
            return hasResult && hasId
                ? (new McpMessage { Kind = McpMessageKind.Response, RawId = rawId }, null)
                : Invalid("A JSON-RPC message needs \"method\" (a request or notification) or \"result\"/\"error\" with an \"id\" (a response).", rawId);
        }

        if (McpMethods.CaseVariantOf(method) is { } known)
        {
            return Invalid($"The method \"{method}\" is not \"{known}\": MCP method names are case-sensitive.", rawId);
        }

        // The member that names the target depends on the method, which may come after params in the object.
        var byUri = method is McpMethods.ResourcesRead or McpMethods.ResourcesSubscribe or McpMethods.ResourcesUnsubscribe;
        var message = new McpMessage
        {
            Kind = hasId ? McpMessageKind.Request : McpMessageKind.Notification,
            RawId = rawId,
            Method = method,
            Target = byUri ? parameters.Uri : parameters.Name,
            Arguments = parameters.Arguments,
        };
        return CheckTarget(message, byUri ? parameters.UriIsString : parameters.NameIsString);
    }

    private static (McpMessage?, McpRefusal?) CheckTarget(McpMessage message, bool targetIsString)
    {
        var needs = message.Method switch
        {
            McpMethods.ToolsCall or McpMethods.PromptsGet => "name",
            McpMethods.ResourcesRead or McpMethods.ResourcesSubscribe or McpMethods.ResourcesUnsubscribe => "uri",
            _ => null,
        };
        if (needs is null)
        {
            return (message, null);
        }

        if (message.Target is null || !targetIsString)
        {
            return (null, new McpRefusal(StatusCodes.Status400BadRequest, InvalidParams, $"{message.Method} needs params.{needs} as a string.", message.RawId));
        }

        if (message.Method == McpMethods.ToolsCall && !IsValidToolName(message.Target))
        {
            return (null, new McpRefusal(StatusCodes.Status400BadRequest, InvalidParams,
                "The tool name is not valid: MCP tool names are 1 to 128 characters of A-Z, a-z, 0-9, '_', '-' and '.'.", message.RawId));
        }

        return (message, null);
    }

    /// <summary>What of <c>params</c> the gateway looks at. The <c>IsString</c> flags are false when present but not a string.</summary>
    private record struct McpParams(string? Name, bool NameIsString, string? Uri, bool UriIsString, ReadOnlyMemory<byte> Arguments);

    /// <summary>params.name, params.uri and params.arguments.</summary>
    private static McpParams ReadParams(ref Utf8JsonReader reader, ReadOnlyMemory<byte> body)
    {
        var depth = reader.CurrentDepth;
        string? name = null, uri = null;
        var nameIsString = true;
        var uriIsString = true;
        ReadOnlyMemory<byte> arguments = default;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                nameIsString = reader.TokenType == JsonTokenType.String;
                name = nameIsString ? reader.GetString() : null;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("uri"u8))
            {
                reader.Read();
                uriIsString = reader.TokenType == JsonTokenType.String;
                uri = uriIsString ? reader.GetString() : null;
                reader.Skip();
            }
            else if (reader.ValueTextEquals("arguments"u8))
            {
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                arguments = body[start..(int)reader.BytesConsumed];
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return new McpParams(name, nameIsString, uri, uriIsString, arguments);
    }

    private static (McpMessage?, McpRefusal?) Invalid(string message, string? rawId) =>
        (null, new McpRefusal(StatusCodes.Status400BadRequest, JsonRpcErrors.InvalidRequest, message, rawId));
}
