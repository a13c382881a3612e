using System.Text.Json.Serialization;
using Gatehouse.Authorization;
using Gatehouse.Configuration;
using Gatehouse.Proxy;

namespace Gatehouse.ResourceServer;

/// <summary>
/// RFC 9728 protected resource metadata for each MCP server route: path-inserted
/// (<c>/.well-known/oauth-protected-resource/sales</c> for the route at <c>/sales</c>, §3.1) and at the root for a
/// host whose MCP server is unambiguous. Each names the gateway, on the same origin, as its authorization server.
/// </summary>
internal static class ProtectedResourceMetadata
{
    public const string WellKnownPath = "/.well-known/oauth-protected-resource";

    public static IEndpointRouteBuilder MapProtectedResourceMetadata(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods(WellKnownPath, [HttpMethods.Get, HttpMethods.Options], (HttpContext context, GatewayState state) => Handle(context, state, ""))
            .WithOrder(-1).ExcludeFromDescription();
        endpoints.MapMethods(WellKnownPath + "/{**path}", [HttpMethods.Get, HttpMethods.Options], (HttpContext context, GatewayState state, string path) => Handle(context, state, "/" + path))
            .WithOrder(-1).ExcludeFromDescription();
        return endpoints;
    }

    private static IResult Handle(HttpContext context, GatewayState state, string path)
    {
        // Public metadata: any web page may read it (browser-based MCP clients discover from JavaScript).
        context.Response.Headers.AccessControlAllowOrigin = "*";
        if (HttpMethods.IsOptions(context.Request.Method))
        {
            context.Response.Headers.AccessControlAllowMethods = "GET, OPTIONS";
            context.Response.Headers.AccessControlAllowHeaders = "MCP-Protocol-Version";
            return TypedResults.NoContent();
        }

        var snapshot = state.Current;
        var routes = McpResources.RoutesOnHost(snapshot, context.Request.Host).ToList();
        var resourcePath = path.TrimEnd('/');
        var route = routes.FirstOrDefault(r => r.ResourcePath == resourcePath)
            ?? (resourcePath.Length == 0 && routes.Count == 1 ? routes[0] : null);
        if (route is null)
        {
            var known = routes.Count == 0 ? "none" : string.Join(", ", routes.Select(r => WellKnownPath + r.ResourcePath));
            return TypedResults.Problem($"No MCP server on this host is protected at '{path}'. Metadata is served at: {known}.",
                statusCode: StatusCodes.Status404NotFound, title: "Not Found");
        }

        context.Response.Headers.CacheControl = "public, max-age=300";
        var config = snapshot.Config;
        return TypedResults.Json(new ResourceMetadata
        {
            Resource = McpResources.ResourceUrl(context.Request, config, route),
            AuthorizationServers = [McpResources.Issuer(context.Request, config, route)],
            ScopesSupported = AuthorizationServerExtensions.SupportedScopes,
            ResourceName = route.Description is { Length: > 0 } description ? $"{route.Id}: {description}" : route.Id,
        }, ResourceMetadataJsonContext.Default.ResourceMetadata);
    }

    internal sealed record ResourceMetadata
    {
        [JsonPropertyName("resource")]
        public required string Resource { get; init; }

        [JsonPropertyName("authorization_servers")]
        public required string[] AuthorizationServers { get; init; }

        [JsonPropertyName("bearer_methods_supported")]
        public string[] BearerMethodsSupported { get; init; } = ["header"];

        [JsonPropertyName("scopes_supported")]
        public required string[] ScopesSupported { get; init; }

        [JsonPropertyName("resource_name")]
        public required string ResourceName { get; init; }
    }
}

[JsonSerializable(typeof(ProtectedResourceMetadata.ResourceMetadata))]
internal sealed partial class ResourceMetadataJsonContext : JsonSerializerContext;
