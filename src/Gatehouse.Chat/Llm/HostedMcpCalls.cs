using Microsoft.Extensions.AI;
using OpenAI.Responses;

namespace Gatehouse.Chat.Llm;

/// <summary>What the Responses API reports of the MCP calls the provider runs itself (remote MCP tools).</summary>
internal static class HostedMcpCalls
{
    /// <summary>
    /// The <c>mcp_call</c> item the provider announced (<c>response.output_item.added</c>) before running it.
    /// Microsoft.Extensions.AI turns only the finished item (<c>response.output_item.done</c>) into
    /// <see cref="McpServerToolCallContent"/> and <see cref="McpServerToolResultContent"/>; starting the card here
    /// lets its duration cover the call.
    /// </summary>
#pragma warning disable OPENAI001 // The SDK marks its Responses types as evaluation-only; they are the API this mode speaks.
    public static (string CallId, string Server, string Tool)? Started(ChatResponseUpdate update) =>
        update.RawRepresentation is StreamingResponseOutputItemAddedUpdate { Item: McpToolCallItem item }
            ? (item.Id, item.ServerLabel, item.ToolName)
            : null;
#pragma warning restore OPENAI001
}
