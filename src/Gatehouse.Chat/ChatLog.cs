namespace Gatehouse.Chat;

/// <summary>
/// The app's log messages (event ids 9100-9199; the identity middleware has 9000-9099). Razor components cannot
/// declare <c>[LoggerMessage]</c> methods themselves: the Razor and logging source generators do not see each other's output.
/// </summary>
internal static partial class ChatLog
{
    // Reasons are exception type names: messages can quote request bodies, never logged here.
    // The LLM is named by its host only: an endpoint URL may carry a key in its query (some Azure deployments).
    [LoggerMessage(EventId = 9100, Level = LogLevel.Information, Message = "Gatehouse Chat listening on {Url}, served by Gatehouse at {PublicUrl}; LLM: {Llm}")]
    public static partial void Listening(ILogger logger, string url, Uri publicUrl, string llm);

    [LoggerMessage(EventId = 9101, Level = LogLevel.Warning, Message = "A chat turn failed ({Reason})")]
    public static partial void TurnFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Warning, Message = "Listing the user's MCP servers failed ({Reason})")]
    public static partial void ListingFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Information, Message = "A tool call from the tool runner failed ({Reason})")]
    public static partial void ToolRunFailed(ILogger logger, string reason);
}
