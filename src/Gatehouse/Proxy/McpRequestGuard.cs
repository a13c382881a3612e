using Gatehouse.Configuration;
using Microsoft.Net.Http.Headers;
using Yarp.ReverseProxy.Model;

namespace Gatehouse.Proxy;

/// <summary>
/// The first checks every request to an MCP server route passes: Origin (DNS-rebinding protection) and CORS
/// preflight, which carry no credentials and so come before authentication (RouteAuthenticator). It also resolves
/// every proxied request's route for the middleware after it.
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

        await next(context);
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

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Refused a request to route {RouteId} from origin {Origin}: not an allowed origin")]
    private static partial void LogOriginRefused(ILogger logger, string routeId, string origin);
}
