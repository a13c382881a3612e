using Gatehouse.Configuration;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace Gatehouse.Proxy;

/// <summary>Translates Gatehouse routes into YARP routes and clusters; YARP does the forwarding itself.</summary>
internal static class YarpConfigBuilder
{
    public const string CustomCaMetadataKey = "gatehouse.tls_custom_ca_file";
    public const string ResponseHeadersTimeoutMetadataKey = "gatehouse.response_headers_timeout_ms";

    /// <summary>
    /// MCP streams (GET SSE, long tool calls) stay open as long as both ends want, so MCP server routes get no idle
    /// limit unless one is configured. YARP needs a finite value; this is the largest a timer accepts (~24.8 days).
    /// </summary>
    private static readonly TimeSpan s_noIdleLimit = TimeSpan.FromMilliseconds(int.MaxValue - 1);

    public static (IReadOnlyList<RouteConfig> Routes, IReadOnlyList<ClusterConfig> Clusters) Build(GatewayConfig config)
    {
        var routes = new List<RouteConfig>(config.Routes.Count);
        var clusters = new List<ClusterConfig>(config.Routes.Count);
        foreach (var route in config.Routes)
        {
            routes.Add(BuildRoute(route));
            clusters.Add(BuildCluster(route));
        }

        return (routes, clusters);
    }

    private static RouteConfig BuildRoute(GatewayRoute route)
    {
        // A `from` without an explicit port matches the host on any port, as ASP.NET Core host matching does.
        var host = route.From.IsDefaultPort ? route.From.IdnHost : $"{route.From.IdnHost}:{route.From.Port}";
        var path = route.Path is { } exact
            ? EscapeTemplate(exact)
            : (route.Prefix is { } prefix ? EscapeTemplate(prefix.TrimEnd('/')) : "") + "/{**gatehouse-rest}";

        // Identity headers a client sent are removed, and Gatehouse's own added, by RouteAuthenticator: a
        // RequestHeaderRemove transform here would run after it and remove Gatehouse's assertion too.
        var transforms = new List<IReadOnlyDictionary<string, string>>();

        if (route.Prefix is { } matched && route.PrefixRewrite is { } rewrite)
        {
            transforms.Add(new Dictionary<string, string> { ["PathRemovePrefix"] = matched.TrimEnd('/') });
            if (rewrite != "/")
            {
                transforms.Add(new Dictionary<string, string> { ["PathPrefix"] = rewrite.TrimEnd('/') });
            }
        }

        foreach (var (name, value) in route.SetRequestHeaders)
        {
            transforms.Add(new Dictionary<string, string> { ["RequestHeader"] = name, ["Set"] = value });
        }

        foreach (var name in route.RemoveRequestHeaders)
        {
            transforms.Add(new Dictionary<string, string> { ["RequestHeaderRemove"] = name });
        }

        if (route.PreserveHostHeader)
        {
            transforms.Add(new Dictionary<string, string> { ["RequestHeaderOriginalHost"] = "true" });
        }

        return new RouteConfig
        {
            RouteId = route.Id,
            ClusterId = route.Id,
            // First matching route wins, in the order of the file, as in Pomerium.
            Order = route.Index,
            Match = new RouteMatch { Hosts = [host], Path = path },
            // On MCP server routes `timeout` bounds the wait for the upstream's response headers only (see
            // GatewayForwarderHttpClientFactory): a total deadline would cut SSE streams that are meant to last.
            Timeout = route.Kind == RouteKind.McpServer ? null : route.Timeout,
            Transforms = transforms,
        };
    }

    private static ClusterConfig BuildCluster(GatewayRoute route)
    {
        // Destinations are named by their URL so that a session stays affine to its upstream across reloads that
        // reorder, add or remove other entries of `to`.
        var destinations = new Dictionary<string, DestinationConfig>(route.To.Count, StringComparer.Ordinal);
        foreach (var to in route.To)
        {
            destinations.TryAdd(to.AbsoluteUri, new DestinationConfig { Address = to.AbsoluteUri });
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (route.TlsCustomCaFile is { } ca)
        {
            metadata[CustomCaMetadataKey] = ca;
        }

        if (route.Kind == RouteKind.McpServer && route.Timeout is { } headersTimeout)
        {
            metadata[ResponseHeadersTimeoutMetadataKey] = ((long)headersTimeout.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var idle = route.IdleTimeout ?? (route.Kind == RouteKind.McpServer ? s_noIdleLimit : (TimeSpan?)null);
        return new ClusterConfig
        {
            ClusterId = route.Id,
            Destinations = destinations,
            LoadBalancingPolicy = route.To.Count > 1 ? "RoundRobin" : null,
            // With several upstreams, one that fails at the transport level is taken out of rotation for a while.
            HealthCheck = route.To.Count > 1
                ? new HealthCheckConfig { Passive = new PassiveHealthCheckConfig { Enabled = true, Policy = "TransportFailureRate", ReactivationPeriod = TimeSpan.FromSeconds(30) } }
                : null,
            SessionAffinity = route.To.Count > 1 && route.Kind == RouteKind.McpServer
                ? new SessionAffinityConfig { Enabled = true, Policy = McpSessionAffinityPolicy.PolicyName, AffinityKeyName = "Mcp-Session-Id" }
                : null,
            HttpClient = new HttpClientConfig
            {
                DangerousAcceptAnyServerCertificate = route.TlsSkipVerify,
            },
            HttpRequest = new ForwarderRequestConfig
            {
                ActivityTimeout = idle,
                // Buffering would hold SSE events back; every event must reach the client as it arrives.
                AllowResponseBuffering = false,
            },
            Metadata = metadata.Count > 0 ? metadata : null,
        };
    }

    /// <summary>Braces delimit parameters in ASP.NET Core route templates; a configured path is literal text.</summary>
    private static string EscapeTemplate(string path) => path.Replace("{", "{{", StringComparison.Ordinal).Replace("}", "}}", StringComparison.Ordinal);
}
