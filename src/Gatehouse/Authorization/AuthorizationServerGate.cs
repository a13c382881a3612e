using Gatehouse.Proxy;

namespace Gatehouse.Authorization;

/// <summary>
/// In front of OpenIddict: answers only on hosts the configuration serves, and gives OpenIddict the scheme clients
/// use. The issuer is built from the request (no fixed issuer), so a request for an unknown Host would otherwise
/// get metadata naming that host; and behind a proxy that ends TLS (<c>insecure_server</c>) the request arrives as
/// http while clients, and the routes' <c>from</c>, say https.
/// </summary>
internal sealed class AuthorizationServerGate(RequestDelegate next, GatewayState state)
{
    public Task InvokeAsync(HttpContext context)
    {
        var snapshot = state.Current;
        var host = context.Request.Host;
        var route = snapshot.Config.Routes.FirstOrDefault(r => McpResources.MatchesHost(r, host));
        if (route is null)
        {
            return JsonRpcErrors.WriteProblemAsync(context, StatusCodes.Status404NotFound, "Not Found",
                $"No route serves the host {host}, so there is no authorization server here.");
        }

        if (snapshot.Config.InsecureServer && !context.Request.IsHttps && route.From.Scheme == Uri.UriSchemeHttps)
        {
            // TLS ended at the proxy in front (insecure_server: true); the route says clients use https.
            context.Request.Scheme = Uri.UriSchemeHttps;
        }

        if (AllowsCors(context.Request.Path) && context.Request.Headers.Origin.Count > 0)
        {
            // Browser-based MCP clients discover, register and exchange codes from JavaScript. These endpoints take
            // no cookies (clients authenticate with PKCE or their secret), so any origin may call them. The
            // authorization endpoint is a page the browser navigates to, and gets no CORS.
            var headers = context.Response.Headers;
            headers.AccessControlAllowOrigin = "*";
            if (HttpMethods.IsOptions(context.Request.Method))
            {
                headers.AccessControlAllowMethods = "GET, POST, OPTIONS";
                headers.AccessControlAllowHeaders = "Authorization, Content-Type, MCP-Protocol-Version";
                headers.AccessControlMaxAge = "86400";
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return Task.CompletedTask;
            }
        }

        return next(context);
    }

    private static bool AllowsCors(PathString path) =>
        !path.StartsWithSegments(AuthorizationServerExtensions.AuthorizePath, StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// MCP 2025-03-26 ("Fallbacks for Servers without Metadata Discovery"): a client that finds no metadata uses
/// <c>/authorize</c>, <c>/token</c> and <c>/register</c> at the MCP server's origin. On hosts that serve an MCP
/// server route these paths are handled as Gatehouse's own endpoints: the gateway is the authorization server of
/// every MCP server it protects, so the upstream's own paths of these names are not reachable there.
/// </summary>
internal sealed class LegacyEndpointRewriter(RequestDelegate next, GatewayState state)
{
    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path.Value;
        var target = path switch
        {
            "/authorize" => AuthorizationServerExtensions.AuthorizePath,
            "/token" => AuthorizationServerExtensions.TokenPath,
            "/register" => AuthorizationServerExtensions.RegisterPath,
            _ => null,
        };

        if (target is not null && McpResources.RoutesOnHost(state.Current, context.Request.Host).Any())
        {
            context.Request.Path = target;
        }

        return next(context);
    }
}
