using System.ComponentModel;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gatehouse.Conformance.Server.Tools;

/// <summary>
/// Scenario <c>server-sse-polling</c> (SEP-1699): the server ends the POST SSE stream before the result is ready,
/// and the client gets the result by reconnecting with GET and <c>Last-Event-ID</c>.
/// </summary>
[McpServerToolType]
internal static class ReconnectionTools
{
    /// <summary>The <c>retry</c> field sent with the priming event: how long the client waits before it reconnects.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan s_responseEndTimeout = TimeSpan.FromSeconds(5);

    [McpServerTool(Name = "test_reconnection", ReadOnly = true)]
    [Description("Closes the response stream mid-call; the result is delivered when the client reconnects with Last-Event-ID.")]
    public static async Task<string> Reconnection(
        RequestContext<CallToolRequestParams> context, IHttpContextAccessor httpContextAccessor, CancellationToken cancellationToken)
    {
        // Tool handlers run in the POST request's execution context (PerSessionExecutionContext is off), so this is
        // the response that carries the call.
        var responseEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        httpContextAccessor.HttpContext?.Response.OnCompleted(() =>
        {
            responseEnded.TrySetResult();
            return Task.CompletedTask;
        });

        // Sends a priming event carrying `retry` and ends the POST response; what is sent afterwards, this result
        // included, goes to the event stream store and is replayed on the client's GET.
        await context.EnablePollingAsync(RetryInterval, cancellationToken);

        // The response ends a moment after EnablePollingAsync returns: a result sent before then would still go down
        // the POST stream, and one sent long after would miss the client's single GET, which in polling mode returns
        // at once with whatever is stored. So the result follows as soon as the response has ended.
        await responseEnded.Task.WaitAsync(s_responseEndTimeout, cancellationToken);
        return "Reconnection test completed successfully";
    }
}
