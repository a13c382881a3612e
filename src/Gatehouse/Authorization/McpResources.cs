using Gatehouse.Configuration;
using Gatehouse.Proxy;

namespace Gatehouse.Authorization;

/// <summary>
/// Which MCP servers a request's host serves, and the canonical resource URI of each: what a client names with
/// <c>resource</c> (RFC 8707) and what an access token's <c>aud</c> must hold on that route.
/// </summary>
internal static class McpResources
{
    /// <summary>The MCP server routes that answer on <paramref name="host"/>, in configuration order.</summary>
    public static IEnumerable<GatewayRoute> RoutesOnHost(GatewaySnapshot snapshot, HostString host) =>
        snapshot.Config.Routes.Where(r => r.Kind == RouteKind.McpServer && MatchesHost(r, host));

    /// <summary>
    /// As routing decides: the host must be the route's; the port too when <c>from</c> names one explicitly.
    /// </summary>
    public static bool MatchesHost(GatewayRoute route, HostString host)
    {
        if (!string.Equals(host.Host, route.From.IdnHost, StringComparison.OrdinalIgnoreCase) &&
            !string.Equals(host.Host, route.From.Host, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return route.From.IsDefaultPort || host.Port == route.From.Port;
    }

    /// <summary>
    /// The scheme clients use: https when the connection is TLS, or when TLS ends at a proxy in front
    /// (<c>insecure_server</c>) and the route's <c>from</c> says https.
    /// </summary>
    public static string PublicScheme(HttpRequest request, GatewayConfig config, GatewayRoute route) =>
        request.IsHttps || (config.InsecureServer && route.From.Scheme == Uri.UriSchemeHttps) ? Uri.UriSchemeHttps : Uri.UriSchemeHttp;

    /// <summary>The route's canonical resource URI for this request.</summary>
    public static string ResourceUrl(HttpRequest request, GatewayConfig config, GatewayRoute route) =>
        route.ResourceUrl(PublicScheme(request, config, route), request.Host.Value ?? "");

    /// <summary>The issuer of the authorization server on this request's origin, as OpenIddict writes it (trailing slash).</summary>
    public static string Issuer(HttpRequest request, GatewayConfig config, GatewayRoute route) =>
        string.Concat(PublicScheme(request, config, route), "://", request.Host.Value, "/");

    /// <summary>
    /// <see cref="Issuer"/> and <see cref="ResourceUrl"/> for a request to <paramref name="route"/>, which every
    /// request to a protected MCP route checks its token against. Clients reach a route by one scheme and host, so
    /// the route keeps the last pair it built and a request by the same scheme and host concatenates nothing.
    /// </summary>
    public static RequestUrls UrlsFor(HttpRequest request, GatewayConfig config, CompiledRoute route)
    {
        var scheme = PublicScheme(request, config, route.Route);
        var host = request.Host.Value ?? "";
        if (route.LastUrls is { } last && string.Equals(last.Scheme, scheme, StringComparison.Ordinal) &&
            string.Equals(last.Host, host, StringComparison.Ordinal))
        {
            return last;
        }

        // A race with another request builds the same strings twice: harmless, and cheaper than a lock.
        var urls = new RequestUrls(scheme, host, request.Host.Host, Issuer(request, config, route.Route), route.Route.ResourceUrl(scheme, host));
        route.LastUrls = urls;
        return urls;
    }

    /// <summary>Whether any route (of any kind) answers on this host: the authorization server serves only those.</summary>
    public static bool IsServedHost(GatewaySnapshot snapshot, HostString host) =>
        snapshot.Config.Routes.Any(r => MatchesHost(r, host));

    /// <summary>
    /// Resolves a requested <c>resource</c> to the route it names and that route's canonical URI. MCP authorization,
    /// "Canonical Server URI": scheme and host compare without case and a trailing slash is not significant. A URL
    /// below a route's path names that route (the whole route is one protected resource). Null: no MCP server on
    /// this host is that resource.
    /// </summary>
    public static (GatewayRoute Route, string Canonical)? Resolve(GatewaySnapshot snapshot, HttpRequest request, string resource)
    {
        var requestHost = request.Host;
        if (!Uri.TryCreate(resource, UriKind.Absolute, out var uri) || uri.Fragment.Length > 0 || uri.Query.Length > 0 ||
            uri.UserInfo.Length > 0 || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return null;
        }

        var authority = uri.IsDefaultPort ? uri.IdnHost : $"{uri.IdnHost}:{uri.Port}";
        var sameHost = string.Equals(authority, requestHost.Value, StringComparison.OrdinalIgnoreCase) ||
            (requestHost.Port is null && string.Equals(uri.IdnHost, requestHost.Host, StringComparison.OrdinalIgnoreCase) && uri.IsDefaultPort);
        if (!sameHost)
        {
            return null;
        }

        var path = uri.AbsolutePath.TrimEnd('/');
        GatewayRoute? best = null;
        foreach (var route in RoutesOnHost(snapshot, requestHost))
        {
            if (!string.Equals(PublicScheme(request, snapshot.Config, route), uri.Scheme, StringComparison.Ordinal))
            {
                continue;
            }

            var routePath = route.ResourcePath;
            var covers = routePath.Length == 0 ||
                string.Equals(path, routePath, StringComparison.Ordinal) ||
                (route.Path is null && path.StartsWith(routePath + "/", StringComparison.Ordinal));
            if (covers && (best is null || routePath.Length > best.ResourcePath.Length))
            {
                best = route;
            }
        }

        return best is null ? null : (best, ResourceUrl(request, snapshot.Config, best));
    }
}

/// <summary>
/// The authorization server's issuer and a route's canonical resource URL as seen by requests that arrive with
/// <paramref name="Scheme"/> (the public one, see <see cref="McpResources.PublicScheme"/>) and Host
/// <paramref name="Host"/>; <paramref name="HostName"/> is that Host without its port (a substring, so kept too).
/// </summary>
internal sealed record RequestUrls(string Scheme, string Host, string HostName, string Issuer, string ResourceUrl);
