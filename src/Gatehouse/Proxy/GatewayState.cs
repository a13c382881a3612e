using System.Collections.Frozen;
using Gatehouse.Configuration;
using Gatehouse.Policy;
using Yarp.ReverseProxy.Configuration;

namespace Gatehouse.Proxy;

/// <summary>
/// The configuration currently in force. A reload swaps the whole snapshot atomically: requests already in flight
/// keep the snapshot they started with, so open streams are not disturbed by a change.
/// </summary>
internal sealed class GatewayState(InMemoryConfigProvider proxyConfig, TimeProvider timeProvider)
{
    private volatile GatewaySnapshot? _current;

    public GatewaySnapshot Current => _current ?? throw new InvalidOperationException("No configuration has been loaded yet.");

    public bool IsLoaded => _current is not null;

    public DateTimeOffset LoadedAt { get; private set; }

    /// <summary>Raised after a configuration is in force (at start-up and on every reload), for features that sync state from it.</summary>
    public event Action<GatewayConfig>? Applied;

    public void Apply(GatewayConfig config)
    {
        var snapshot = GatewaySnapshot.Create(config);
        var (routes, clusters) = YarpConfigBuilder.Build(config);
        _current = snapshot;
        LoadedAt = timeProvider.GetUtcNow();
        proxyConfig.Update(routes, clusters);
        Applied?.Invoke(config);
    }
}

/// <summary>A configuration with its lookups precomputed, so that the request path only reads frozen collections.</summary>
internal sealed class GatewaySnapshot
{
    private GatewaySnapshot(GatewayConfig config, FrozenDictionary<string, CompiledRoute> routes)
    {
        Config = config;
        Routes = routes;
    }

    public GatewayConfig Config { get; }

    public FrozenDictionary<string, CompiledRoute> Routes { get; }

    public static GatewaySnapshot Create(GatewayConfig config)
    {
        // Origins that may drive an MCP server from a browser (MCP Streamable HTTP, "Security Warning": servers
        // must validate Origin to prevent DNS rebinding): the gateway's own client apps and the configured list.
        var sharedOrigins = config.Routes
            .Where(r => r.Kind == RouteKind.McpClient)
            .Select(r => r.Origin)
            .Concat(config.CorsAllowedOrigins)
            .ToList();

        var routes = config.Routes.ToFrozenDictionary(
            r => r.Id,
            r => new CompiledRoute(
                r,
                sharedOrigins.Append(r.Origin).ToFrozenSet(StringComparer.OrdinalIgnoreCase),
                // A public route admits everyone, so the top-level policy does not apply to it either.
                RoutePolicy.Create(r.AllowPublicUnauthenticatedAccess ? null : config.Policy, r.Policy)),
            StringComparer.Ordinal);
        return new GatewaySnapshot(config, routes);
    }
}

/// <summary>
/// A route of one configuration snapshot with what the request path needs precomputed. A class rather than a record:
/// it carries a cache (<see cref="LastUrls"/>), and instances are never compared.
/// </summary>
/// <param name="route">The route as configured.</param>
/// <param name="allowedOrigins">Origins that may send requests to it from a browser.</param>
/// <param name="policy">
/// Who may use the route: the top-level and the route's policy, compiled together, enforced per request and per
/// JSON-RPC message by <see cref="McpPolicyEnforcer"/>.
/// </param>
internal sealed class CompiledRoute(GatewayRoute route, FrozenSet<string> allowedOrigins, RoutePolicy policy)
{
    public GatewayRoute Route { get; } = route;

    public FrozenSet<string> AllowedOrigins { get; } = allowedOrigins;

    public RoutePolicy Policy { get; } = policy;

    public bool IsMcpServer => Route.Kind == RouteKind.McpServer;

    public long MaxRequestBytes => Route.McpServer?.MaxRequestBytes ?? McpServerConfig.DefaultMaxRequestBytes;

    private volatile Authorization.RequestUrls? _lastUrls;

    /// <summary>
    /// Cache of <see cref="Authorization.McpResources.UrlsFor"/> for the last scheme and host this route was reached
    /// by. A reload builds new routes, so it never outlives the configuration it was built from.
    /// </summary>
    public Authorization.RequestUrls? LastUrls
    {
        get => _lastUrls;
        set => _lastUrls = value;
    }
}
