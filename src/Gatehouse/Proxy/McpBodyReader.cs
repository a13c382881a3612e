using System.Buffers;
using System.IO.Pipelines;

namespace Gatehouse.Proxy;

/// <summary>
/// Reads the JSON-RPC body of a POST to an MCP server route, bounded by <c>max_request_bytes</c>, so that the
/// gateway can judge every message; only authenticated requests get this far, so an anonymous client cannot make
/// the gateway buffer anything.
/// </summary>
internal sealed partial class McpBodyReader(RequestDelegate next, ILogger<McpBodyReader> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<CompiledRoute>() is not { IsMcpServer: true } route)
        {
            await next(context);
            return;
        }

        var request = context.Request;
        if (!HttpMethods.IsPost(request.Method))
        {
            await next(context);
            return;
        }

        var limit = route.MaxRequestBytes;
        if (request.ContentLength > limit)
        {
            await RefuseTooLargeAsync(context, route, limit);
            return;
        }

        var (buffer, length) = await ReadBoundedAsync(request.BodyReader, limit, context.RequestAborted);
        if (buffer is null)
        {
            await RefuseTooLargeAsync(context, route, limit);
            return;
        }

        try
        {
            context.Features.Set(McpRequestFeature.Parse(buffer.AsSpan(0, length)));
            request.Body = new MemoryStream(buffer, 0, length, writable: false);
            request.ContentLength = length;
            await next(context);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads the whole body into a pooled array, or returns null as soon as it exceeds the limit.</summary>
    private static async Task<(byte[]? Buffer, int Length)> ReadBoundedAsync(PipeReader reader, long limit, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var readable = result.Buffer;
            if (readable.Length > limit)
            {
                reader.AdvanceTo(readable.End);
                return (null, 0);
            }

            if (result.IsCompleted)
            {
                var length = (int)readable.Length;
                var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                readable.CopyTo(buffer);
                reader.AdvanceTo(readable.End);
                return (buffer, length);
            }

            // Nothing consumed, everything examined: wait for more data.
            reader.AdvanceTo(readable.Start, readable.End);
        }
    }

    private Task RefuseTooLargeAsync(HttpContext context, CompiledRoute route, long limit)
    {
        LogBodyTooLarge(logger, route.Route.Id, limit);
        // The client may still be sending: closing the connection afterwards is Kestrel's job (it drains or resets).
        return JsonRpcErrors.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, JsonRpcErrors.InvalidRequest,
            $"The request body is larger than this MCP server accepts ({limit} bytes, mcp.server.max_request_bytes).");
    }

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Refused a request to route {RouteId}: body over {Limit} bytes")]
    private static partial void LogBodyTooLarge(ILogger logger, string routeId, long limit);
}
