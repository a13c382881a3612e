using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gatehouse.Conformance.Server.Tools;

/// <summary>Log notifications to the client, filtered by the level it set with <c>logging/setLevel</c>.</summary>
internal static class ClientLog
{
    public const string LoggerName = "gatehouse-conformance-server";

    /// <summary>
    /// <c>logging/setLevel</c>: the SDK records the level on <see cref="McpServer.LoggingLevel"/> before this runs;
    /// the result is the empty object the scenario <c>logging-set-level</c> expects.
    /// </summary>
    public static ValueTask<EmptyResult> HandleSetLevelAsync(
        RequestContext<SetLevelRequestParams> context, CancellationToken cancellationToken) => ValueTask.FromResult(new EmptyResult());

    /// <summary>Sends <c>notifications/message</c> unless the client asked for a higher minimum level.</summary>
    public static async Task SendAsync(McpServer server, LoggingLevel level, string message, CancellationToken cancellationToken)
    {
        // MCP 2025-11-25, Server / Utilities / Logging: only messages at or above the level set are sent.
        if (server.LoggingLevel is { } minimum && level < minimum)
        {
            return;
        }

        await server.SendNotificationAsync(
            NotificationMethods.LoggingMessageNotification,
            new LoggingMessageNotificationParams
            {
                Level = level,
                Logger = LoggerName,
                Data = JsonSerializer.SerializeToElement(message, ConformanceJsonContext.Default.String),
            },
            cancellationToken: cancellationToken);
    }
}
