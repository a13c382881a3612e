using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Chat.Gateway;

/// <summary>What a tool call came to, as the page shows it: text, whether it failed, and whether Gatehouse's policy refused it.</summary>
public sealed record ToolOutcome(string Text, bool IsError, bool Denied = false)
{
    /// <summary>Gatehouse's JSON-RPC error for a policy denial (docs/policy.md).</summary>
    public const int PolicyDeniedCode = -32054;

    public static ToolOutcome From(CallToolResult result) => new(Describe(result.Content, result.StructuredContent), result.IsError == true);

    /// <summary>
    /// A result of the function invocation loop: the exception an <see cref="McpClientTool"/> threw, or its return
    /// value (a serialized <see cref="CallToolResult"/>).
    /// </summary>
    public static ToolOutcome From(FunctionResultContent result)
    {
        if (result.Exception is { } exception)
        {
            return From(exception);
        }

        if (result.Result is JsonElement { ValueKind: JsonValueKind.Object } json &&
            json.TryGetProperty("content", out _) &&
            json.Deserialize(McpJsonUtilities.DefaultOptions.GetTypeInfo(typeof(CallToolResult))) is CallToolResult call)
        {
            return From(call);
        }

        return new ToolOutcome(result.Result switch
        {
            null => "",
            string text => text,

            // McpClientTool turns the MCP result into Microsoft.Extensions.AI content: one block, or a list of them.
            TextContent text => text.Text,
            IEnumerable<AIContent> contents => string.Join('\n', contents.Select(c => c is TextContent t ? t.Text : c.ToString())),
            JsonElement element => element.ToString(),
            var other => JsonSerializer.Serialize(other, AIJsonUtilities.DefaultOptions.GetTypeInfo(other.GetType())),
        }, IsError: false);
    }

    /// <summary>
    /// A call the provider ran itself (Responses API remote MCP tools): its output, or the error it reported. The
    /// provider passes the gateway's JSON-RPC error on as text, so a denial is known by its code in that text.
    /// </summary>
    public static ToolOutcome From(McpServerToolResultContent result)
    {
        var outputs = result.Outputs ?? [];
        if (outputs.OfType<ErrorContent>().FirstOrDefault() is { } error)
        {
            var message = error.Message;
            return message.Contains(PolicyDeniedCode.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                ? new("Denied by Gatehouse policy: " + message, IsError: true, Denied: true)
                : new(message, IsError: true);
        }

        return new(string.Join('\n', outputs.Select(c => c is TextContent t ? t.Text : c.ToString())), IsError: false);
    }

    public static ToolOutcome From(Exception exception) => exception switch
    {
        McpProtocolException { ErrorCode: (McpErrorCode)PolicyDeniedCode } denied => new("Denied by Gatehouse policy: " + denied.Message, IsError: true, Denied: true),
        McpProtocolException error => new($"The server answered with error {(int)error.ErrorCode}: {error.Message}", IsError: true),
        TeRejectedException rejected => new(rejected.Message, IsError: true),

        // The gateway refuses a TE past its five minutes (RFC 6750 §3.1 invalid_token): the page must be reloaded.
        HttpRequestException { StatusCode: System.Net.HttpStatusCode.Unauthorized } => new(new TeRejectedException().Message, IsError: true),
        _ => new(exception.Message, IsError: true),
    };

    private static string Describe(IList<ContentBlock> content, JsonElement? structured)
    {
        var text = new StringBuilder();
        foreach (var block in content)
        {
            if (text.Length > 0)
            {
                text.Append('\n');
            }

            text.Append(block switch
            {
                TextContentBlock t => t.Text,
                ImageContentBlock i => $"[image, {i.MimeType}]",
                AudioContentBlock a => $"[audio, {a.MimeType}]",
                EmbeddedResourceBlock r => $"[resource {r.Resource.Uri}]",
                ResourceLinkBlock l => $"[resource link {l.Uri}]",
                _ => $"[{block.Type}]",
            });
        }

        return text.Length == 0 && structured is { } json ? json.ToString() : text.ToString();
    }
}
