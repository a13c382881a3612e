namespace Gatehouse.Chat;

/// <summary>
/// The app's log messages (event ids 9100-9199; the identity middleware has 9000-9099). Razor components cannot
/// declare <c>[LoggerMessage]</c> methods themselves: the Razor and logging source generators do not see each other's output.
/// </summary>
internal static partial class ChatLog
{
    // Reasons are exception type names: messages can quote request bodies, never logged here.
    [LoggerMessage(EventId = 9101, Level = LogLevel.Warning, Message = "A chat turn failed ({Reason})")]
    public static partial void TurnFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Warning, Message = "Listing the user's MCP servers failed ({Reason})")]
    public static partial void ListingFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Information, Message = "A tool call from the tool runner failed ({Reason})")]
    public static partial void ToolRunFailed(ILogger logger, string reason);
}
