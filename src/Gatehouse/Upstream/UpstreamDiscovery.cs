using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;

namespace Gatehouse.Upstream;

/// <summary>
/// Finds out what authorization an upstream MCP server needs (MCP authorization 2025-11-25, "Authorization Server
/// Discovery"): its protected resource metadata (RFC 9728) from the challenge's <c>resource_metadata</c>, else the
/// path-inserted well-known URL, else the root one; then its authorization server's metadata (RFC 8414 / OpenID
/// Connect Discovery) in the order the MCP specification gives. Configured endpoints skip all of it. Results are
/// cached per route for a few minutes so a burst of 401s makes one round of fetches.
/// </summary>
internal sealed class UpstreamDiscovery(UpstreamHttp http, TimeProvider time)
{
    private static readonly TimeSpan s_cacheFor = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, (UpstreamAuthServer Server, DateTimeOffset Until)> _cache = new(StringComparer.Ordinal);

    /// <summary>The MCP server URL Gatehouse forwards a route to: its <c>to</c> URL, or <c>to</c> plus the route's path.</summary>
    public static Uri UpstreamUrl(GatewayRoute route)
    {
        var to = route.To[0];
        if (to.AbsolutePath.Length > 1)
        {
            return to;
        }

        var path = route.PrefixRewrite ?? route.Prefix ?? route.Path ?? "/";
        if (route.McpServer?.Path is { Length: > 1 } mcpPath)
        {
            path = path.TrimEnd('/') + mcpPath;
        }

        return new Uri(to, path);
    }

    /// <summary>Routes seen to need upstream OAuth (their MCP server answered 401), for the life of the process.</summary>
    private readonly ConcurrentDictionary<string, bool> _needsOAuth = new(StringComparer.Ordinal);

    /// <summary>Routes whose MCP server answered without asking for OAuth, until when that is believed.</summary>
    private readonly ConcurrentDictionary<string, DateTimeOffset> _noOAuthUntil = new(StringComparer.Ordinal);

    /// <summary>Whether a route's upstream OAuth is known without a network call: configured, or seen.</summary>
    public bool IsKnown(GatewayRoute route) =>
        route.McpServer?.UpstreamOAuth2 is not null || route.McpServer?.AuthorizationServerUrl is not null || _needsOAuth.ContainsKey(route.Id);

    /// <summary>Remembers that the route needs upstream OAuth, learnt elsewhere (a user of it is connected).</summary>
    public void MarkNeedsOAuth(string routeId) => _needsOAuth[routeId] = true;

    private UpstreamAuthServer? Cached(string routeId) =>
        _cache.TryGetValue(routeId, out var entry) && entry.Until > time.GetUtcNow() ? entry.Server : null;

    /// <summary>
    /// Whether the route's MCP server wants its own OAuth token: configured, seen, or found out from its RFC 9728
    /// metadata (path-inserted, then root). A GET of a well-known document has no side effects on the MCP server,
    /// unlike an MCP request (which could open a session). The answer is kept for a few minutes; an unreachable
    /// server counts as not asking.
    /// </summary>
    public async ValueTask<bool> NeedsOAuthAsync(GatewayRoute route, OutboundPolicy policy, CancellationToken cancellationToken)
    {
        if (IsKnown(route))
        {
            return true;
        }

        if (_noOAuthUntil.TryGetValue(route.Id, out var until) && until > time.GetUtcNow())
        {
            return false;
        }

        try
        {
            foreach (var url in ResourceMetadataUrls(UpstreamUrl(route), hint: null))
            {
                if (await FetchAsync(url, policy, "The protected resource metadata at", UpstreamJsonContext.Default.ProtectedResourceDocument, cancellationToken) is { AuthorizationServers.Count: > 0 })
                {
                    _needsOAuth[route.Id] = true;
                    return true;
                }
            }
        }
        catch (UpstreamOAuthException)
        {
            return false;
        }

        _noOAuthUntil[route.Id] = time.GetUtcNow() + s_cacheFor;
        return false;
    }

    /// <summary>
    /// The route's authorization server. <paramref name="challenge"/> is the upstream's 401 when there was one; without
    /// it the upstream is asked (an unauthenticated MCP <c>initialize</c>) so that its <c>resource_metadata</c> hint is
    /// used. Null when the upstream does not ask for OAuth at all.
    /// </summary>
    public async Task<UpstreamAuthServer?> DiscoverAsync(GatewayRoute route, OutboundPolicy policy, BearerChallenge? challenge, CancellationToken cancellationToken)
    {
        if (challenge is null && Cached(route.Id) is { } cached)
        {
            return cached;
        }

        var upstreamUrl = UpstreamUrl(route);
        var server = route.McpServer?.UpstreamOAuth2?.Endpoint is { } endpoint
            ? Fixed(endpoint, upstreamUrl)
            : await DiscoverFromUpstreamAsync(upstreamUrl, route.McpServer?.AuthorizationServerUrl, policy, challenge, cancellationToken);
        if (server is not null)
        {
            _cache[route.Id] = (server, time.GetUtcNow() + s_cacheFor);
            _needsOAuth[route.Id] = true;
            _noOAuthUntil.TryRemove(route.Id, out _);
        }

        return server;
    }

    /// <summary><c>upstream_oauth2.endpoint</c>: a provider that publishes no metadata (GitHub, for one).</summary>
    private static UpstreamAuthServer Fixed(UpstreamOAuth2Endpoint endpoint, Uri upstreamUrl) => new()
    {
        Issuer = endpoint.TokenUrl.GetLeftPart(UriPartial.Authority),
        AuthorizationEndpoint = endpoint.AuthUrl,
        TokenEndpoint = endpoint.TokenUrl,
        ResourceKey = upstreamUrl.AbsoluteUri,
    };

    public async Task<UpstreamAuthServer?> DiscoverFromUpstreamAsync(
        Uri upstreamUrl, Uri? fallbackIssuer, OutboundPolicy policy, BearerChallenge? challenge, CancellationToken cancellationToken)
    {
        challenge ??= await ChallengeAsync(upstreamUrl, policy, cancellationToken);
        if (challenge is null && fallbackIssuer is null)
        {
            return null;
        }

        ProtectedResourceDocument? resource = null;
        Uri? resourceMetadataUrl = null;
        UpstreamOAuthException? resourceFailure = null;
        foreach (var candidate in ResourceMetadataUrls(upstreamUrl, challenge?.ResourceMetadata))
        {
            try
            {
                resource = await FetchAsync(candidate, policy, "The protected resource metadata at", UpstreamJsonContext.Default.ProtectedResourceDocument, cancellationToken);
            }
            catch (UpstreamOAuthException ex) when (ex.Failure is UpstreamFailure.Refused or UpstreamFailure.Unavailable)
            {
                resourceFailure ??= ex;
                continue;
            }

            if (resource is not null)
            {
                resourceMetadataUrl = candidate;
                break;
            }
        }

        if (resource is not null)
        {
            CheckResource(resource, upstreamUrl, resourceMetadataUrl!);
        }

        var issuerText = (resource?.AuthorizationServers is [var first, ..] ? first : null) ?? fallbackIssuer?.AbsoluteUri.TrimEnd('/');
        if (issuerText is null || !Uri.TryCreate(issuerText, UriKind.Absolute, out var issuer))
        {
            throw resourceFailure ?? new UpstreamOAuthException(UpstreamFailure.Discovery, resource is null
                ? $"The MCP server at {upstreamUrl.GetLeftPart(UriPartial.Path)} asks for OAuth but publishes no protected resource metadata (RFC 9728); set mcp.server.authorization_server_url or upstream_oauth2"
                : $"The protected resource metadata at {resourceMetadataUrl} names no authorization server");
        }

        var (metadata, metadataUrl) = await FetchAuthorizationServerAsync(issuer, policy, cancellationToken);
        var resourceUri = resource?.Resource ?? upstreamUrl.AbsoluteUri;
        return new UpstreamAuthServer
        {
            Issuer = metadata.Issuer!,
            AuthorizationEndpoint = RequiredEndpoint(metadata.AuthorizationEndpoint, "authorization_endpoint", metadataUrl),
            TokenEndpoint = RequiredEndpoint(metadata.TokenEndpoint, "token_endpoint", metadataUrl),
            RegistrationEndpoint = OptionalEndpoint(metadata.RegistrationEndpoint),
            RevocationEndpoint = OptionalEndpoint(metadata.RevocationEndpoint),
            Resource = resourceUri,
            ResourceMetadataUrl = resourceMetadataUrl,
            MetadataUrl = metadataUrl,
            ResourceScopes = resource?.ScopesSupported,
            ServerScopes = metadata.ScopesSupported,
            TokenEndpointAuthMethods = metadata.TokenEndpointAuthMethodsSupported,
            CodeChallengeMethods = metadata.CodeChallengeMethodsSupported,
            ClientIdMetadataDocumentSupported = metadata.ClientIdMetadataDocumentSupported == true,
            IssParameterSupported = metadata.AuthorizationResponseIssParameterSupported == true,
            ChallengeScopes = challenge?.Scopes,
            ResourceKey = resourceUri,
        };
    }

    /// <summary>
    /// Asks the upstream without a token, as an MCP client's first request would, for its challenge (MCP
    /// authorization, "Authorization Server Location"). Null when it does not answer 401.
    /// </summary>
    public async Task<BearerChallenge?> ChallengeAsync(Uri upstreamUrl, OutboundPolicy policy, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, upstreamUrl)
        {
            Content = new StringContent(
                """{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"gatehouse","version":"0.1"}}}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        using var response = await http.SendHeadersAsync(request, policy, "The MCP server", cancellationToken);
        return response.StatusCode == HttpStatusCode.Unauthorized ? BearerChallenge.From(response.Headers) ?? new BearerChallenge(null, null, null) : null;
    }

    /// <summary>RFC 9728 §3.1 and MCP "Protected Resource Metadata Discovery Requirements": hint, path-inserted, root.</summary>
    public static IEnumerable<Uri> ResourceMetadataUrls(Uri upstreamUrl, string? hint)
    {
        if (hint is not null && Uri.TryCreate(hint, UriKind.Absolute, out var hinted))
        {
            yield return hinted;
        }

        var origin = upstreamUrl.GetLeftPart(UriPartial.Authority);
        var path = upstreamUrl.AbsolutePath.TrimEnd('/');
        if (path.Length > 0)
        {
            yield return new Uri(origin + "/.well-known/oauth-protected-resource" + path);
        }

        yield return new Uri(origin + "/.well-known/oauth-protected-resource");
    }

    /// <summary>
    /// MCP authorization 2025-11-25, "Authorization Server Metadata Discovery": for an issuer with a path, RFC 8414
    /// path insertion, OpenID Connect path insertion, then OpenID Connect path appending; without one, RFC 8414 then
    /// OpenID Connect.
    /// </summary>
    public static IEnumerable<Uri> AuthorizationServerMetadataUrls(Uri issuer)
    {
        var origin = issuer.GetLeftPart(UriPartial.Authority);
        var path = issuer.AbsolutePath.TrimEnd('/');
        if (path.Length == 0)
        {
            yield return new Uri(origin + "/.well-known/oauth-authorization-server");
            yield return new Uri(origin + "/.well-known/openid-configuration");
            yield break;
        }

        yield return new Uri(origin + "/.well-known/oauth-authorization-server" + path);
        yield return new Uri(origin + "/.well-known/openid-configuration" + path);
        yield return new Uri(origin + path + "/.well-known/openid-configuration");
    }

    public async Task<(AuthorizationServerDocument Metadata, Uri Url)> FetchAuthorizationServerAsync(Uri issuer, OutboundPolicy policy, CancellationToken cancellationToken)
    {
        foreach (var url in AuthorizationServerMetadataUrls(issuer))
        {
            var metadata = await FetchAsync(url, policy, "The authorization server metadata at", UpstreamJsonContext.Default.AuthorizationServerDocument, cancellationToken);
            if (metadata is null)
            {
                continue;
            }

            // RFC 8414 §3.3: the issuer in the document must be the one the URL was built from, or an attacker who
            // controls one document could send tokens elsewhere.
            if (!string.Equals(metadata.Issuer?.TrimEnd('/'), issuer.AbsoluteUri.TrimEnd('/'), StringComparison.Ordinal))
            {
                throw new UpstreamOAuthException(UpstreamFailure.Discovery,
                    $"The authorization server metadata at {url} names issuer '{metadata.Issuer}', not {issuer.AbsoluteUri.TrimEnd('/')} (RFC 8414 §3.3)");
            }

            // MCP authorization, "Authorization Code Protection": without S256 advertised, PKCE support is unknown.
            if (metadata.CodeChallengeMethodsSupported?.Contains("S256") != true)
            {
                throw new UpstreamOAuthException(UpstreamFailure.Discovery,
                    $"The authorization server {metadata.Issuer} does not advertise PKCE S256 (code_challenge_methods_supported), which MCP requires");
            }

            return (metadata, url);
        }

        throw new UpstreamOAuthException(UpstreamFailure.Discovery,
            $"The authorization server {issuer.AbsoluteUri.TrimEnd('/')} publishes no metadata (RFC 8414 or OpenID Connect Discovery)");
    }

    /// <summary>RFC 9728 §3.3: the document must describe the resource it was fetched for (same origin here).</summary>
    private static void CheckResource(ProtectedResourceDocument document, Uri upstreamUrl, Uri fetchedFrom)
    {
        if (document.Resource is null || !Uri.TryCreate(document.Resource, UriKind.Absolute, out var resource))
        {
            throw new UpstreamOAuthException(UpstreamFailure.Discovery, $"The protected resource metadata at {fetchedFrom} has no valid 'resource'");
        }

        if (!string.Equals(resource.GetLeftPart(UriPartial.Authority), upstreamUrl.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
        {
            throw new UpstreamOAuthException(UpstreamFailure.Discovery,
                $"The protected resource metadata at {fetchedFrom} describes {resource.GetLeftPart(UriPartial.Authority)}, not the MCP server at {upstreamUrl.GetLeftPart(UriPartial.Authority)} (RFC 9728 §3.3)");
        }
    }

    /// <summary>A JSON document, or null when the URL answers 404 (or another 4xx): the next candidate is tried.</summary>
    private async Task<T?> FetchAsync<T>(Uri url, OutboundPolicy policy, string what, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
        where T : class
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.ParseAdd("application/json");
        var response = await http.SendAsync(request, policy, what, cancellationToken);
        if ((int)response.Status >= 500)
        {
            throw new UpstreamOAuthException(UpstreamFailure.Unavailable, $"{what} {url} answered {(int)response.Status}");
        }

        if (response.Status != HttpStatusCode.OK)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(response.Body, type);
        }
        catch (JsonException)
        {
            throw new UpstreamOAuthException(UpstreamFailure.Discovery, $"{what} {url} is not valid JSON");
        }
    }

    private static Uri RequiredEndpoint(string? value, string name, Uri metadataUrl) =>
        OptionalEndpoint(value) ?? throw new UpstreamOAuthException(UpstreamFailure.Discovery, $"The authorization server metadata at {metadataUrl} has no valid {name}");

    private static Uri? OptionalEndpoint(string? value) =>
        value is not null && Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp) ? uri : null;
}
