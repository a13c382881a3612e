using Microsoft.AspNetCore.Http.Timeouts;
using Yarp.ReverseProxy.Forwarder;

namespace Gatehouse.Proxy;

/// <summary>
/// YARP sets only a status code when forwarding fails. This gives the body a shape the client can read: a
/// JSON-RPC error on MCP server routes (echoing the request id), ProblemDetails (RFC 9457) elsewhere.
/// </summary>
internal sealed partial class ForwarderErrorResponder(RequestDelegate next, ILogger<ForwarderErrorResponder> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        await next(context);

        var error = context.Features.Get<IForwarderErrorFeature>();
        if (error is null || context.Response.HasStarted)
        {
            return;
        }

        // A route `timeout` fires through ASP.NET Core's request timeouts, which cancel the request: YARP then
        // reports a cancelled request, but for the client it is the upstream that was too slow (504).
        var routeTimedOut = context.Features.Get<IHttpRequestTimeoutFeature>()?.RequestTimeoutToken.IsCancellationRequested == true;
        if (!routeTimedOut && context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var routeId = context.Features.Get<CompiledRoute>()?.Route.Id ?? "?";
        LogForwardingFailed(logger, routeId, error.Error, error.Exception?.GetType().Name);

        var timedOut = routeTimedOut || context.Response.StatusCode == StatusCodes.Status504GatewayTimeout || IsTimeout(error.Exception);
        var status = timedOut ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway;
        var message = timedOut
            ? "The upstream server did not answer in time."
            : "The upstream server could not be reached or broke off the connection.";

        if (context.Features.Get<CompiledRoute>() is { IsMcpServer: true })
        {
            await JsonRpcErrors.WriteAsync(context, status, timedOut ? JsonRpcErrors.UpstreamTimeout : JsonRpcErrors.UpstreamUnavailable, message);
            return;
        }

        await JsonRpcErrors.WriteProblemAsync(context, status, timedOut ? "Gateway Timeout" : "Bad Gateway", message);
    }

    private static bool IsTimeout(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is TimeoutException)
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Forwarding on route {RouteId} failed: {Error} ({ExceptionType})")]
    private static partial void LogForwardingFailed(ILogger logger, string routeId, ForwarderError error, string? exceptionType);
}
