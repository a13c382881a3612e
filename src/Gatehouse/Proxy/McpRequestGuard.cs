using System.Buffers;
using System.IO.Pipelines;
using Gatehouse.Configuration;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Model;

namespace Gatehouse.Proxy;

/// <summary>
/// The checks every request to an MCP server route passes before it is forwarded: Origin (DNS-rebinding
/// protection), CORS preflight, and the bounded read of the JSON-RPC body.
/// </summary>
internal sealed partial class McpRequestGuard(RequestDelegate next, GatewayState state, ILogger<McpRequestGuard> logger)
{
    internal const string AllowedMethods = "GET, POST, DELETE, OPTIONS";
    internal const string AllowedHeaders = "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, Mcp-Method, Mcp-Name";
    internal const string ExposedHeaders = "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version";

    public async Task InvokeAsync(HttpContext context)
    {
        var route = ResolveRoute(context, state);
        if (route is null || !route.IsMcpServer)
        {
            await next(context);
            return;
        }

        var request = context.Request;
        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0)
        {
            // MCP Streamable HTTP, "Security Warning": servers MUST validate Origin to prevent DNS rebinding.
            if (!IsAllowedOrigin(route, request, origin))
            {
                LogOriginRefused(logger, route.Route.Id, origin);
                await JsonRpcErrors.WriteAsync(context, StatusCodes.Status403Forbidden, JsonRpcErrors.InvalidRequest,
                    "This origin is not allowed to reach this MCP server. An administrator can add it to cors_allowed_origins.");
                return;
            }

            var headers = context.Response.Headers;
            headers.AccessControlAllowOrigin = origin;
            headers.Vary = HeaderNames.Origin;
            if (HttpMethods.IsOptions(request.Method) && request.Headers.ContainsKey(HeaderNames.AccessControlRequestMethod))
            {
                // A CORS preflight carries no credentials and is answered here: it never reaches the server.
                headers.AccessControlAllowMethods = AllowedMethods;
                headers.AccessControlAllowHeaders = AllowedHeaders;
                headers.AccessControlExposeHeaders = ExposedHeaders;
                headers.AccessControlMaxAge = "86400";
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            }

            headers.AccessControlExposeHeaders = ExposedHeaders;
        }

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

    private static CompiledRoute? ResolveRoute(HttpContext context, GatewayState state)
    {
        var routeId = context.Features.Get<IReverseProxyFeature>()?.Route.Config.RouteId;
        if (routeId is null)
        {
            return null;
        }

        var route = state.Current.Routes.GetValueOrDefault(routeId);
        if (route is not null)
        {
            context.Features.Set(route);
        }

        return route;
    }

    private static bool IsAllowedOrigin(CompiledRoute route, HttpRequest request, string origin)
    {
        if (route.AllowedOrigins.Contains(origin))
        {
            return true;
        }

        // Same-origin: a page served by this very host (scheme and Host as the client sent them).
        var own = string.Concat(request.Scheme, "://", request.Host.Value);
        return string.Equals(origin, own, StringComparison.OrdinalIgnoreCase);
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

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Refused a request to route {RouteId} from origin {Origin}: not an allowed origin")]
    private static partial void LogOriginRefused(ILogger logger, string routeId, string origin);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Refused a request to route {RouteId}: body over {Limit} bytes")]
    private static partial void LogBodyTooLarge(ILogger logger, string routeId, long limit);
}
