namespace Gatehouse.Mcp;

/// <summary>The three shapes of JSON-RPC 2.0 message a client sends (JSON-RPC 2.0 §4, §4.1, §5).</summary>
internal enum McpMessageKind
{
    /// <summary>A call that expects an answer: has <c>method</c> and <c>id</c>.</summary>
    Request,

    /// <summary>A call that expects none: has <c>method</c> and no <c>id</c>.</summary>
    Notification,

    /// <summary>The client's answer to a request the server sent (sampling, elicitation, roots): <c>result</c> or <c>error</c>.</summary>
    Response,
}

/// <summary>
/// One JSON-RPC message of a POST body, as the gateway judges it: what is called and on what. Strings are read once
/// from the body; <see cref="Arguments"/> is a slice of the body itself, not a copy.
/// </summary>
internal sealed class McpMessage
{
    public required McpMessageKind Kind { get; init; }

    /// <summary>The <c>id</c> exactly as sent (a JSON number or string), or null for a notification.</summary>
    public string? RawId { get; init; }

    public string? Method { get; init; }

    /// <summary>
    /// What the call acts on: the tool of <c>tools/call</c>, the prompt of <c>prompts/get</c>, the resource URI of
    /// <c>resources/read</c>, <c>resources/subscribe</c> and <c>resources/unsubscribe</c>.
    /// </summary>
    public string? Target { get; init; }

    /// <summary><c>params.arguments</c> as raw JSON (tools/call, prompts/get), or empty.</summary>
    public ReadOnlyMemory<byte> Arguments { get; init; }

    public string? Tool => Method == McpMethods.ToolsCall ? Target : null;

    public string? Prompt => Method == McpMethods.PromptsGet ? Target : null;

    public string? ResourceUri => Method is McpMethods.ResourcesRead or McpMethods.ResourcesSubscribe or McpMethods.ResourcesUnsubscribe ? Target : null;
}

/// <summary>A POST body the gateway read in full: one message, or a JSON-RPC batch (JSON-RPC 2.0 §6).</summary>
internal sealed class McpBody
{
    public required bool IsBatch { get; init; }

    public required IReadOnlyList<McpMessage> Messages { get; init; }
}

/// <summary>What <c>McpBodyReader</c> made of a POST body: the messages, or why it is refused (one of the two).</summary>
internal sealed record McpInspection(McpBody? Body, McpRefusal? Refusal);

/// <summary>Why a body was refused before any policy looked at it: the HTTP status and the JSON-RPC error.</summary>
internal sealed record McpRefusal(int HttpStatus, int Code, string Message, string? RawId = null);

/// <summary>The MCP methods the gateway knows by name (MCP specification 2025-03-26 to 2026-07-28).</summary>
internal static class McpMethods
{
    public const string Initialize = "initialize";
    public const string ToolsCall = "tools/call";
    public const string ToolsList = "tools/list";
    public const string PromptsGet = "prompts/get";
    public const string PromptsList = "prompts/list";
    public const string ResourcesRead = "resources/read";
    public const string ResourcesList = "resources/list";
    public const string ResourceTemplatesList = "resources/templates/list";
    public const string ResourcesSubscribe = "resources/subscribe";
    public const string ResourcesUnsubscribe = "resources/unsubscribe";

    /// <summary>
    /// Every method name of the specification. A method equal to one of these in another letter case is refused: an
    /// upstream that matched names without case would run a call that a case-sensitive rule did not recognise.
    /// </summary>
    public static readonly System.Collections.Frozen.FrozenSet<string> Known = System.Collections.Frozen.FrozenSet.ToFrozenSet(
    [
        Initialize, "ping", ToolsList, ToolsCall, PromptsList, PromptsGet, ResourcesList, ResourcesRead, ResourceTemplatesList,
        ResourcesSubscribe, ResourcesUnsubscribe, "completion/complete", "logging/setLevel", "sampling/createMessage",
        "elicitation/create", "roots/list", "tasks/get", "tasks/list", "tasks/cancel", "tasks/result",
        "notifications/initialized", "notifications/cancelled", "notifications/progress", "notifications/message",
        "notifications/roots/list_changed", "notifications/tools/list_changed", "notifications/prompts/list_changed",
        "notifications/resources/list_changed", "notifications/resources/updated", "notifications/tasks/status",
        "notifications/elicitation/complete",
    ], StringComparer.Ordinal);

    private static readonly System.Collections.Frozen.FrozenDictionary<string, string> s_byLowerCase =
        System.Collections.Frozen.FrozenDictionary.ToFrozenDictionary(Known, m => m, m => m, StringComparer.OrdinalIgnoreCase);

    /// <summary>The known method this name spells in another letter case, or null.</summary>
    public static string? CaseVariantOf(string method) =>
        !Known.Contains(method) && s_byLowerCase.TryGetValue(method, out var known) ? known : null;
}
