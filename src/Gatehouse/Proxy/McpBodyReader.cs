using System.Buffers;
using System.IO.Pipelines;
using Gatehouse.Mcp;
using Microsoft.Net.Http.Headers;

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

        if (!IsJson(request.ContentType))
        {
            // MCP Streamable HTTP: a POST carries JSON-RPC as application/json. Anything else is refused rather than
            // passed on unread, so no content type can carry a call past the policy (REFERENCE.md §1).
            context.Features.Set(new McpInspection(null, new McpRefusal(StatusCodes.Status415UnsupportedMediaType, JsonRpcErrors.InvalidRequest,
                "An MCP POST must be Content-Type: application/json.")));
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
            var (body, refusal) = McpBodyInspector.Inspect(buffer.AsMemory(0, length));
            refusal ??= CheckMessageHeaders(request, body!);
            context.Features.Set(new McpInspection(body, refusal));
            context.Features.Set(new McpRequestFeature
            {
                RawId = refusal?.RawId ?? (body is { IsBatch: false } ? body.Messages[0].RawId : null),
                Method = body is { IsBatch: false } ? body.Messages[0].Method : null,
                BodyLength = length,
            });
            request.Body = new MemoryStream(buffer, 0, length, writable: false);
            request.ContentLength = length;
            await next(context);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static bool IsJson(string? contentType) =>
        contentType is not null && MediaTypeHeaderValue.TryParse(contentType, out var parsed) &&
        parsed.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// MCP 2026-07-28 (Streamable HTTP, "Request Headers"): <c>Mcp-Method</c> and <c>Mcp-Name</c> repeat the body's
    /// method and target so intermediaries can route without reading it; a mismatch would let a router and this
    /// gateway see different calls, so it is refused (an intermediary "MUST return 4xx"). Clients of that version must
    /// send <c>Mcp-Method</c>; earlier clients may, and are held to it when they do.
    /// </summary>
    private static McpRefusal? CheckMessageHeaders(HttpRequest request, McpBody body)
    {
        var method = request.Headers["Mcp-Method"];
        var name = request.Headers["Mcp-Name"];
        var version = request.Headers["MCP-Protocol-Version"].ToString();
        var modern = string.CompareOrdinal(version, "2026-07-28") >= 0;
        if (method.Count == 0 && name.Count == 0 && !modern)
        {
            return null;
        }

        if (body.IsBatch)
        {
            return modern ? new McpRefusal(StatusCodes.Status400BadRequest, JsonRpcErrors.InvalidRequest, "MCP 2026-07-28 has no batches: send one message per POST.") : null;
        }

        var message = body.Messages[0];
        if (message.Kind != McpMessageKind.Response && (method.Count != 1 || method[0] != message.Method))
        {
            return new McpRefusal(StatusCodes.Status400BadRequest, JsonRpcErrors.InvalidRequest,
                method.Count == 0 ? "The Mcp-Method header is missing (MCP 2026-07-28)." : "The Mcp-Method header does not match the method in the body.", message.RawId);
        }

        if (message.Target is { } target && (modern || name.Count > 0) && (name.Count != 1 || name[0] != target))
        {
            return new McpRefusal(StatusCodes.Status400BadRequest, JsonRpcErrors.InvalidRequest,
                name.Count == 0 ? "The Mcp-Name header is missing (MCP 2026-07-28)." : "The Mcp-Name header does not match the tool, prompt or resource in the body.", message.RawId);
        }

        return null;
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
