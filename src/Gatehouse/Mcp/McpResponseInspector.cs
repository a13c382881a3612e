using System.Buffers;
using Yarp.ReverseProxy.Transforms;

namespace Gatehouse.Mcp;

/// <summary>
/// A YARP response transform that hands the upstream's answer to <see cref="McpResponseRewriter"/> when the request
/// carried something to watch (<see cref="McpResponseWatch"/>). A JSON answer is read whole and rewritten; an event
/// stream is read event by event, and only the event carrying a watched response is rewritten: every other event
/// (progress, notifications, server requests) goes to the client as soon as it is complete, unchanged.
/// </summary>
internal static partial class McpResponseInspector
{
    /// <summary>The most a JSON answer that must be filtered may hold; a bigger one is refused rather than passed unfiltered.</summary>
    public const int MaxJsonResponseBytes = 16 * 1024 * 1024;

    public static async ValueTask TransformAsync(ResponseTransformContext context)
    {
        var watch = context.HttpContext.Features.Get<McpResponseWatch>();
        if (watch is null || watch.IsEmpty || context.ProxyResponse is not { } upstream)
        {
            return;
        }

        var mediaType = upstream.Content.Headers.ContentType?.MediaType;
        if (mediaType == "application/json")
        {
            context.SuppressResponseBody = true;
            await RewriteJsonAsync(context, upstream, watch);
        }
        else if (mediaType == "text/event-stream")
        {
            context.SuppressResponseBody = true;
            await RewriteEventStreamAsync(context, upstream, watch);
        }
    }

    private static async Task RewriteJsonAsync(ResponseTransformContext context, HttpResponseMessage upstream, McpResponseWatch watch)
    {
        var response = context.HttpContext.Response;
        await using var source = await upstream.Content.ReadAsStreamAsync(context.CancellationToken);
        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await source.ReadAsync(chunk, context.CancellationToken)) > 0)
            {
                if (buffer.Length + read > MaxJsonResponseBytes)
                {
                    // Fail closed: a listing that cannot be filtered is not shown.
                    response.Headers.ContentLength = null;
                    response.StatusCode = StatusCodes.Status502BadGateway;
                    await Proxy.JsonRpcErrors.WriteAsync(context.HttpContext, StatusCodes.Status502BadGateway, Proxy.JsonRpcErrors.UpstreamUnavailable,
                        "The MCP server's answer is too large for the gateway to check.");
                    return;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        var original = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        var rewritten = McpResponseRewriter.Process(original.Span, watch);
        var body = rewritten ?? original;
        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, context.CancellationToken);
    }

    private static async Task RewriteEventStreamAsync(ResponseTransformContext context, HttpResponseMessage upstream, McpResponseWatch watch)
    {
        var output = context.HttpContext.Response.Body;
        await output.FlushAsync(context.CancellationToken);
        await using var source = await upstream.Content.ReadAsStreamAsync(context.CancellationToken);
        var parser = new ServerSentEventSplitter();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await source.ReadAsync(chunk, context.CancellationToken)) > 0)
            {
                parser.Append(chunk.AsSpan(0, read));
                var wrote = false;
                while (parser.TryTakeEvent(out var rawEvent))
                {
                    await output.WriteAsync(RewriteEvent(rawEvent, watch), context.CancellationToken);
                    wrote = true;
                }

                if (wrote)
                {
                    // One flush per batch of complete events: each reaches the client as soon as it is whole.
                    await output.FlushAsync(context.CancellationToken);
                }
            }

            // The upstream ended inside an event: pass on what there is.
            if (parser.TakeRemainder() is { Length: > 0 } rest)
            {
                await output.WriteAsync(rest, context.CancellationToken);
                await output.FlushAsync(context.CancellationToken);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or HttpRequestException)
        {
            // The client went away, or the MCP server's stream broke off. The headers are on the wire, so no status can
            // say so any more; thrown on, YARP would try to clear the started response and fail. Resetting the
            // connection is what YARP does when its own copy breaks: the client sees a cut stream, not a clean end.
            if (!context.HttpContext.RequestAborted.IsCancellationRequested)
            {
                LogStreamBroken(context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(McpResponseInspector)),
                    context.HttpContext.TraceIdentifier, ex.GetType().Name);
            }

            context.HttpContext.Abort();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    /// <summary>The event as it goes to the client: rewritten when its data is a watched response that changed.</summary>
    private static ReadOnlyMemory<byte> RewriteEvent(ReadOnlyMemory<byte> rawEvent, McpResponseWatch watch)
    {
        var (data, lines) = ServerSentEventSplitter.Parse(rawEvent);
        if (data is not { } payload || McpResponseRewriter.Process(payload.Span, watch) is not { } rewritten)
        {
            return rawEvent;
        }

        // The same event with one data line: MCP's JSON never holds a raw newline, and `event`/`id` lines are kept.
        var output = new ArrayBufferWriter<byte>(rewritten.Length + 64);
        foreach (var line in lines)
        {
            output.Write(line.Span);
            output.Write("\n"u8);
        }

        output.Write("data: "u8);
        output.Write(rewritten);
        output.Write("\n\n"u8);
        return output.WrittenMemory;
    }

    [LoggerMessage(EventId = 2030, Level = LogLevel.Warning,
        Message = "The MCP server's event stream broke off during request {RequestId} ({Error}); the client's connection was reset")]
    private static partial void LogStreamBroken(ILogger logger, string requestId, string error);
}
