using System.ComponentModel;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gatehouse.Conformance.Server.Tools;

/// <summary>
/// Tools that send notifications while they run: scenarios <c>tools-call-with-logging</c> and
/// <c>tools-call-with-progress</c>. The delays let a client see the notifications arrive one by one.
/// </summary>
[McpServerToolType]
internal static class NotificationTools
{
    private static readonly TimeSpan s_step = TimeSpan.FromMilliseconds(50);

    [McpServerTool(Name = "test_tool_with_logging", ReadOnly = true)]
    [Description("Sends three info log notifications, 50 ms apart, while it runs.")]
    public static async Task<string> ToolWithLogging(McpServer server, CancellationToken cancellationToken)
    {
        await ClientLog.SendAsync(server, LoggingLevel.Info, "Tool execution started", cancellationToken);
        await Task.Delay(s_step, cancellationToken);
        await ClientLog.SendAsync(server, LoggingLevel.Info, "Tool processing data", cancellationToken);
        await Task.Delay(s_step, cancellationToken);
        await ClientLog.SendAsync(server, LoggingLevel.Info, "Tool execution completed", cancellationToken);
        return "Tool with logging executed successfully";
    }

    [McpServerTool(Name = "test_tool_with_progress", ReadOnly = true)]
    [Description("Reports progress 0, 50 and 100 of 100 when the request carries a progress token.")]
    public static async Task<string> ToolWithProgress(
        RequestContext<CallToolRequestParams> context, CancellationToken cancellationToken)
    {
        // Awaited sends rather than IProgress<T>.Report, which does not wait, so the notifications keep their order.
        var token = context.Params?.ProgressToken;
        foreach (var progress in (int[])[0, 50, 100])
        {
            if (progress > 0)
            {
                await Task.Delay(s_step, cancellationToken);
            }

            if (token is { } progressToken)
            {
                await context.Server.NotifyProgressAsync(
                    progressToken,
                    new ProgressNotificationValue { Progress = progress, Total = 100 },
                    cancellationToken: cancellationToken);
            }
        }

        return token is null ? "Progress tool completed (no progress token)" : "Progress tool completed";
    }
}
