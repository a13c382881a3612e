using YamlDotNet.RepresentationModel;

namespace Gatehouse.Configuration;

/// <summary>
/// Upstream OAuth (docs/upstream-oauth.md): <c>mcp.server.upstream_oauth2</c> and <c>authorization_server_url</c> with
/// Pomerium's keys, and the top-level <c>mcp_allowed_as_metadata_domains</c> and <c>mcp_upstream_token_refresh_skew</c>.
/// </summary>
internal sealed partial class YamlConfigReader
{
    private static readonly string[] s_upstreamOAuth2Keys = ["client_id", "client_secret", "scopes", "authorization_url_params", "endpoint"];
    private static readonly string[] s_upstreamEndpointKeys = ["auth_url", "token_url", "auth_style"];

    /// <summary>Authorization request parameters Gatehouse writes itself.</summary>
    private static readonly string[] s_reservedAuthorizationParams =
        ["client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method", "resource"];

    private static readonly TimeSpan s_maxRefreshSkew = TimeSpan.FromHours(1);

    private (IReadOnlyList<string> Domains, TimeSpan RefreshSkew) ReadUpstreamTopLevel(Dictionary<string, YamlNode> top)
    {
        var domains = top.TryGetValue("mcp_allowed_as_metadata_domains", out var domainsNode)
            ? ReadDomains(domainsNode, "mcp_allowed_as_metadata_domains")
            : [];

        var skew = GatewayConfig.DefaultUpstreamTokenRefreshSkew;
        if (top.TryGetValue("mcp_upstream_token_refresh_skew", out var skewNode) &&
            Scalar(skewNode, "mcp_upstream_token_refresh_skew", "a duration such as 1m") is { } text)
        {
            if (!Duration.TryParse(text, out var value) || value > s_maxRefreshSkew)
            {
                _errors.Add(Error("mcp_upstream_token_refresh_skew", skewNode,
                    $"expected a duration from 0s to 1h, such as 1m (how long before an upstream token expires it is refreshed), got `{text}`"));
            }
            else
            {
                skew = value;
            }
        }

        return (domains, skew);
    }

    private UpstreamOAuth2Config? ReadUpstreamOAuth2(YamlNode node, string at)
    {
        if (node is not YamlMappingNode map)
        {
            _errors.Add(Error(at, node, "expected a mapping such as `{client_id: my-client, client_secret: ${SECRET}}`"));
            return null;
        }

        var keys = CheckKeys(map, at + ".", s_upstreamOAuth2Keys);
        var clientId = OptionalString(keys, "client_id", at + ".client_id")?.Trim();
        if (string.IsNullOrEmpty(clientId))
        {
            _errors.Add(Error(at + ".client_id", keys.GetValueOrDefault("client_id") ?? map,
                "missing: the client id Gatehouse is registered with at the upstream's authorization server"));
        }

        var secret = OptionalString(keys, "client_secret", at + ".client_secret");
        if (secret is { Length: 0 })
        {
            // Never quote the value.
            _errors.Add(Error(at + ".client_secret", keys["client_secret"], "is empty; remove the key for a public client, or set it (for example `${GITHUB_CLIENT_SECRET}`)"));
        }

        var scopes = new List<string>();
        if (keys.TryGetValue("scopes", out var scopesNode))
        {
            foreach (var scope in ReadStringList(scopesNode, at + ".scopes"))
            {
                // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
                if (scope.Length == 0 || scope.Any(c => c < 0x21 || c > 0x7e || c == '"' || c == '\\'))
                {
                    _errors.Add(Error(at + ".scopes", scopesNode, $"`{scope}` is not a scope (RFC 6749 §3.3: visible ASCII without spaces, quotes or backslashes); list each scope separately"));
                }
                else
                {
                    scopes.Add(scope);
                }
            }
        }

        var parameters = keys.TryGetValue("authorization_url_params", out var paramsNode)
            ? ReadStringMap(paramsNode, at + ".authorization_url_params")
            : System.Collections.Frozen.FrozenDictionary<string, string>.Empty;
        foreach (var reserved in s_reservedAuthorizationParams)
        {
            if (parameters.ContainsKey(reserved))
            {
                _errors.Add(Error(at + ".authorization_url_params", paramsNode!, $"`{reserved}` is set by Gatehouse itself; remove it"));
            }
        }

        UpstreamOAuth2Endpoint? endpoint = null;
        var authStyle = UpstreamAuthStyle.Auto;
        if (keys.TryGetValue("endpoint", out var endpointNode))
        {
            (endpoint, authStyle) = ReadUpstreamEndpoint(endpointNode, at + ".endpoint");
        }

        return string.IsNullOrEmpty(clientId) ? null : new UpstreamOAuth2Config
        {
            ClientId = clientId,
            ClientSecret = secret,
            Scopes = scopes,
            AuthorizationUrlParams = parameters,
            Endpoint = endpoint,
            AuthStyle = authStyle,
        };
    }

    private (UpstreamOAuth2Endpoint?, UpstreamAuthStyle) ReadUpstreamEndpoint(YamlNode node, string at)
    {
        if (node is not YamlMappingNode map)
        {
            _errors.Add(Error(at, node, "expected a mapping such as `{auth_url: https://github.com/login/oauth/authorize, token_url: https://github.com/login/oauth/access_token}`"));
            return (null, UpstreamAuthStyle.Auto);
        }

        var keys = CheckKeys(map, at + ".", s_upstreamEndpointKeys);
        var style = UpstreamAuthStyle.Auto;
        if (keys.TryGetValue("auth_style", out var styleNode) && Scalar(styleNode, at + ".auth_style", "`in_header` or `in_params`") is { } styleText)
        {
            switch (styleText.Trim().ToLowerInvariant())
            {
                case "in_header" or "header" or "oauth2_auth_style_in_header":
                    style = UpstreamAuthStyle.InHeader;
                    break;
                case "in_params" or "body" or "oauth2_auth_style_in_params":
                    style = UpstreamAuthStyle.InParams;
                    break;
                case "" or "auto" or "oauth2_auth_style_unspecified":
                    break;
                default:
                    _errors.Add(Error(at + ".auth_style", styleNode,
                        $"expected `in_header` (HTTP Basic, client_secret_basic) or `in_params` (form fields, client_secret_post); leave it out to try both, got `{styleText}`"));
                    break;
            }
        }

        var authUrl = keys.TryGetValue("auth_url", out var authNode) ? ReadEndpointUrl(authNode, at + ".auth_url", allowQuery: true) : null;
        var tokenUrl = keys.TryGetValue("token_url", out var tokenNode) ? ReadEndpointUrl(tokenNode, at + ".token_url", allowQuery: false) : null;
        if ((authNode is null) != (tokenNode is null))
        {
            _errors.Add(Error(at, map, "give both `auth_url` and `token_url` (fixed endpoints), or neither (they are discovered from the upstream's metadata)"));
        }

        return (authUrl is not null && tokenUrl is not null ? new UpstreamOAuth2Endpoint(authUrl, tokenUrl) : null, style);
    }

    /// <summary>An OAuth endpoint or issuer: https, or http on a loopback host for development.</summary>
    private Uri? ReadEndpointUrl(YamlNode node, string at, bool allowQuery)
    {
        var text = Scalar(node, at, "a URL");
        if (text is null)
        {
            return null;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
        {
            _errors.Add(Error(at, node, $"expected an https:// URL, got `{text}`"));
            return null;
        }

        if (uri.Fragment.Length > 0 || uri.UserInfo.Length > 0 || (!allowQuery && uri.Query.Length > 0))
        {
            _errors.Add(Error(at, node, allowQuery ? "takes no fragment or user:password" : "takes no query, fragment or user:password"));
            return null;
        }

        if (uri.Scheme == Uri.UriSchemeHttp && !Authorization.RedirectUriRules.IsLoopbackHost(uri.Host))
        {
            _errors.Add(Error(at, node, "tokens would travel in clear text; use https (plain http is accepted only on a loopback host, for development)"));
            return null;
        }

        return uri;
    }

    /// <summary>Upstream OAuth needs a user to hold the token, and owns the upstream's Authorization header.</summary>
    private void CheckUpstreamOAuth(McpServerConfig? server, bool isPublic, System.Collections.Frozen.FrozenDictionary<string, string> setHeaders, Dictionary<string, YamlNode> keys, YamlNode routeNode, string at)
    {
        if (server is null || (server.UpstreamOAuth2 is null && server.AuthorizationServerUrl is null))
        {
            return;
        }

        if (isPublic)
        {
            _errors.Add(Error(at + ".allow_public_unauthenticated_access", keys.GetValueOrDefault("allow_public_unauthenticated_access") ?? routeNode,
                "upstream OAuth keeps a token per signed-in user, and a public route has none; remove allow_public_unauthenticated_access or the upstream OAuth keys"));
        }

        if (setHeaders.ContainsKey("Authorization"))
        {
            _errors.Add(Error(at + ".set_request_headers", keys.GetValueOrDefault("set_request_headers") ?? routeNode,
                "`Authorization` is set by upstream OAuth on this route (the user's upstream token); remove it from set_request_headers"));
        }

        if (server.UpstreamOAuth2?.Endpoint is not null && server.AuthorizationServerUrl is not null)
        {
            _errors.Add(Error(at + ".mcp.server.authorization_server_url", keys.GetValueOrDefault("mcp") ?? routeNode,
                "upstream_oauth2.endpoint fixes the endpoints, so there is nothing to discover; keep one of the two"));
        }
    }
}
