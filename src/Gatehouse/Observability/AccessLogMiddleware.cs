using System.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Gatehouse.Proxy;

namespace Gatehouse.Observability;

/// <summary>
/// One structured line per request: route, method, host, path, status, duration and bytes. The query string is
/// never logged (it may carry secrets such as OAuth codes) and neither is any header.
/// </summary>
internal sealed partial class AccessLogMiddleware(RequestDelegate next, ILogger<AccessLogMiddleware> logger, GatewayTelemetry telemetry)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var started = Stopwatch.GetTimestamp();
        // The byte count only feeds the log line: with the access log off (level above Information), the response
        // body is not wrapped, which saves two allocations and an indirection on every write (bench/run.sh).
        IHttpResponseBodyFeature? originalBody = null;
        CountingResponseBody? counter = null;
        if (logger.IsEnabled(LogLevel.Information))
        {
            originalBody = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
            counter = new CountingResponseBody(originalBody);
            context.Features.Set<IHttpResponseBodyFeature>(counter);
        }

        try
        {
            await next(context);
        }
        finally
        {
            if (originalBody is not null)
            {
                context.Features.Set(originalBody);
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            var routeId = context.Features.Get<CompiledRoute>()?.Route.Id ?? "-";
            var status = context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted ? 499 : context.Response.StatusCode;
            // Without a listener (no metrics_address, no OTLP) the instruments record nothing: skip boxing the tags.
            if (telemetry.Requests.Enabled || telemetry.Duration.Enabled)
            {
                var routeTag = new KeyValuePair<string, object?>("route", routeId);
                telemetry.Requests.Add(1, routeTag, new KeyValuePair<string, object?>("status", status));
                telemetry.Duration.Record(elapsed.TotalSeconds, routeTag);
            }

            if (counter is not null && logger.IsEnabled(LogLevel.Information))
            {
#pragma warning disable CA1873 // Guarded by IsEnabled just above.
                LogRequest(logger, routeId, context.Request.Method, context.Request.Host.Value ?? "", context.Request.Path.Value ?? "/",
                    status, Math.Round(elapsed.TotalMilliseconds, 3), context.Request.ContentLength ?? 0, counter.BytesWritten);
#pragma warning restore CA1873
            }
        }
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Information,
        Message = "{Route} {Method} {Host}{Path} {Status} {DurationMs}ms in={RequestBytes} out={ResponseBytes}")]
    private static partial void LogRequest(ILogger logger, string route, string method, string host, string path, int status,
        double durationMs, long requestBytes, long responseBytes);
}
