using YamlDotNet.RepresentationModel;

namespace Gatehouse.Configuration;

/// <summary>
/// <c>authorization_server:</c>, <c>clients:</c>, Pomerium's <c>mcp_allowed_client_id_domains</c> and
/// <c>jwt_assertion_header</c>.
/// </summary>
internal sealed partial class YamlConfigReader
{
    private static readonly string[] s_authorizationServerKeys =
    [
        "access_token_lifetime", "refresh_token_lifetime", "refresh_token_reuse_leeway", "signing_key_file", "client_id_metadata_documents", "dynamic_client_registration",
    ];

    private static readonly string[] s_cimdKeys = ["enabled", "allowed_domains", "allow_private_addresses", "tls_custom_ca_file"];
    private static readonly string[] s_clientKeys = ["client_id", "name", "client_secret", "redirect_uris", "introspect_routes"];

    private AuthorizationServerConfig ReadAuthorizationServer(Dictionary<string, YamlNode> top)
    {
        var config = AuthorizationServerConfig.Default;
        var cimd = new ClientIdMetadataDocumentsConfig();
        if (top.TryGetValue("authorization_server", out var node))
        {
            if (node is not YamlMappingNode map)
            {
                _errors.Add(Error("authorization_server", node, "expected a mapping such as `{access_token_lifetime: 1h}`"));
                return config;
            }

            var keys = CheckKeys(map, "authorization_server.", s_authorizationServerKeys);
            if (OptionalDuration(keys, "access_token_lifetime", "authorization_server.access_token_lifetime") is { } access)
            {
                if (access < TimeSpan.FromMinutes(1) || access > TimeSpan.FromHours(24))
                {
                    _errors.Add(Error("authorization_server.access_token_lifetime", keys["access_token_lifetime"],
                        "expected a duration from 1m to 24h (short-lived access tokens are refreshed; the default is 1h)"));
                }
                else
                {
                    config = config with { AccessTokenLifetime = access };
                }
            }

            if (OptionalDuration(keys, "refresh_token_lifetime", "authorization_server.refresh_token_lifetime") is { } refresh)
            {
                if (refresh < config.AccessTokenLifetime || refresh > TimeSpan.FromDays(365))
                {
                    _errors.Add(Error("authorization_server.refresh_token_lifetime", keys["refresh_token_lifetime"],
                        "expected a duration at least as long as access_token_lifetime and at most 8760h (365 days); the default is 720h"));
                }
                else
                {
                    config = config with { RefreshTokenLifetime = refresh };
                }
            }

            if (keys.TryGetValue("refresh_token_reuse_leeway", out var leewayNode) &&
                Scalar(leewayNode, "authorization_server.refresh_token_reuse_leeway", "a duration such as 30s") is { } leewayText)
            {
                if (!Duration.TryParse(leewayText, out var leeway) || leeway > TimeSpan.FromMinutes(5))
                {
                    _errors.Add(Error("authorization_server.refresh_token_reuse_leeway", leewayNode, $"expected a duration from 0s to 5m, such as 30s, got `{leewayText}`"));
                }
                else
                {
                    config = config with { RefreshTokenReuseLeeway = leeway };
                }
            }

            if (OptionalFile(keys, "signing_key_file", "authorization_server.signing_key_file") is { } keyFile)
            {
                CheckSigningKeyFile(keyFile, keys["signing_key_file"]);
                config = config with { SigningKeyFile = keyFile };
            }

            if (keys.TryGetValue("client_id_metadata_documents", out var cimdNode))
            {
                cimd = ReadCimd(cimdNode);
            }

            if (keys.TryGetValue("dynamic_client_registration", out var dcrNode))
            {
                config = config with { DynamicClientRegistration = ReadEnabledFlag(dcrNode, "authorization_server.dynamic_client_registration") };
            }
        }

        if (top.TryGetValue("mcp_allowed_client_id_domains", out var pomeriumDomains))
        {
            if (cimd.AllowedDomains.Count > 0)
            {
                _errors.Add(Error("mcp_allowed_client_id_domains", pomeriumDomains,
                    "authorization_server.client_id_metadata_documents.allowed_domains is set too; keep one of the two lists"));
            }
            else
            {
                cimd = cimd with { AllowedDomains = ReadDomains(pomeriumDomains, "mcp_allowed_client_id_domains") };
            }
        }

        return config with { ClientIdMetadataDocuments = cimd };
    }

    private ClientIdMetadataDocumentsConfig ReadCimd(YamlNode node)
    {
        const string At = "authorization_server.client_id_metadata_documents";
        var cimd = new ClientIdMetadataDocumentsConfig();
        if (node is not YamlMappingNode map)
        {
            _errors.Add(Error(At, node, "expected a mapping such as `{enabled: true, allowed_domains: [claude.ai]}`"));
            return cimd;
        }

        var keys = CheckKeys(map, At + ".", s_cimdKeys);
        var caFile = OptionalFile(keys, "tls_custom_ca_file", At + ".tls_custom_ca_file");
        if (caFile is not null)
        {
            CheckCaFile(caFile, keys["tls_custom_ca_file"], At + ".tls_custom_ca_file");
        }

        return cimd with
        {
            Enabled = OptionalBool(keys, "enabled", At + ".enabled") ?? true,
            AllowedDomains = keys.TryGetValue("allowed_domains", out var domains) ? ReadDomains(domains, At + ".allowed_domains") : [],
            AllowPrivateAddresses = OptionalBool(keys, "allow_private_addresses", At + ".allow_private_addresses") ?? false,
            TlsCustomCaFile = caFile,
        };
    }

    private bool ReadEnabledFlag(YamlNode node, string at)
    {
        if (node is not YamlMappingNode map)
        {
            _errors.Add(Error(at, node, "expected a mapping such as `{enabled: true}`"));
            return false;
        }

        var keys = CheckKeys(map, at + ".", ["enabled"]);
        return OptionalBool(keys, "enabled", at + ".enabled") ?? false;
    }

    private List<string> ReadDomains(YamlNode node, string at)
    {
        var domains = new List<string>();
        foreach (var item in ReadStringList(node, at))
        {
            var host = item.StartsWith("*.", StringComparison.Ordinal) ? item[2..] : item;
            if (Uri.CheckHostName(host) is not (UriHostNameType.Dns or UriHostNameType.IPv4 or UriHostNameType.IPv6) || host.Contains('/', StringComparison.Ordinal))
            {
                _errors.Add(Error(at, node, $"`{item}` is not a host name; write one such as claude.ai or *.example.com (no scheme or path)"));
                continue;
            }

            domains.Add(item.ToLowerInvariant());
        }

        return domains;
    }

    private void CheckSigningKeyFile(string path, YamlNode node)
    {
        var problem = Signing.ConfiguredSigningKeys.Check(path);
        if (problem is not null)
        {
            _errors.Add(Error("authorization_server.signing_key_file", node, problem));
        }
    }

    private List<ConfiguredClient> ReadClients(Dictionary<string, YamlNode> top, IReadOnlyList<GatewayRoute> routes)
    {
        var clients = new List<ConfiguredClient>();
        if (!top.TryGetValue("clients", out var node))
        {
            return clients;
        }

        if (node is not YamlSequenceNode sequence)
        {
            _errors.Add(Error("clients", node, "expected a list of clients, each starting with `- client_id:`"));
            return clients;
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var at = $"clients[{i}]";
            if (sequence.Children[i] is not YamlMappingNode map)
            {
                _errors.Add(Error(at, sequence.Children[i], "expected a client mapping with `client_id` and `redirect_uris`"));
                continue;
            }

            var keys = CheckKeys(map, at + ".", s_clientKeys);
            var clientId = OptionalString(keys, "client_id", at + ".client_id")?.Trim();
            if (string.IsNullOrEmpty(clientId))
            {
                _errors.Add(Error(at + ".client_id", keys.GetValueOrDefault("client_id") ?? map, "missing: every client needs `client_id:`, such as my-ide"));
                continue;
            }

            if (clientId.Length > 200 || clientId.Any(c => c < 0x21 || c > 0x7e))
            {
                _errors.Add(Error(at + ".client_id", keys["client_id"], "a client_id is 1 to 200 visible ASCII characters (no spaces)"));
                continue;
            }

            if (clientId.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || clientId.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
            {
                _errors.Add(Error(at + ".client_id", keys["client_id"],
                    "a URL client_id names a Client ID Metadata Document and needs no registration; pick a plain name such as my-ide"));
                continue;
            }

            if (!seen.Add(clientId))
            {
                _errors.Add(Error(at + ".client_id", keys["client_id"], $"`{clientId}` is listed twice; client ids must be unique"));
                continue;
            }

            var secret = OptionalString(keys, "client_secret", at + ".client_secret");
            if (secret is not null && secret.Length < 16)
            {
                // Never quote the value.
                _errors.Add(Error(at + ".client_secret", keys["client_secret"], "is shorter than 16 characters; use a long random secret, such as `openssl rand -base64 32`"));
            }

            var redirectUris = new List<Uri>();
            if (keys.TryGetValue("redirect_uris", out var redirectNode))
            {
                foreach (var text in ReadStringList(redirectNode, at + ".redirect_uris"))
                {
                    if (Authorization.RedirectUriRules.Check(text) is { } problem)
                    {
                        _errors.Add(Error(at + ".redirect_uris", redirectNode, $"`{text}`: {problem}"));
                    }
                    else
                    {
                        redirectUris.Add(new Uri(text));
                    }
                }
            }

            var introspect = keys.TryGetValue("introspect_routes", out var introspectNode) ? ReadStringList(introspectNode, at + ".introspect_routes") : [];
            foreach (var routeName in introspect)
            {
                if (!routes.Any(r => r.Id == routeName && r.Kind == RouteKind.McpServer))
                {
                    _errors.Add(Error(at + ".introspect_routes", introspectNode!, $"`{routeName}` is not the name of an MCP server route (`mcp: {{server: ...}}`)"));
                }
            }

            if (introspect.Count > 0 && secret is null)
            {
                _errors.Add(Error(at + ".introspect_routes", introspectNode!, "introspection needs an authenticated client: add `client_secret`"));
            }

            if (redirectNode is null && introspect.Count == 0)
            {
                _errors.Add(Error(at, map, "the client can do nothing: add `redirect_uris` (to sign users in) or `introspect_routes` (a resource server)"));
            }

            var name = OptionalString(keys, "name", at + ".name")?.Trim();
            clients.Add(new ConfiguredClient
            {
                ClientId = clientId,
                Name = string.IsNullOrEmpty(name) ? clientId : name,
                ClientSecret = secret,
                RedirectUris = redirectUris,
                IntrospectRoutes = introspect,
            });
        }

        return clients;
    }

    private string ReadJwtAssertionHeader(Dictionary<string, YamlNode> top)
    {
        if (!top.TryGetValue("jwt_assertion_header", out var node))
        {
            return GatewayConfig.DefaultJwtAssertionHeader;
        }

        var value = Scalar(node, "jwt_assertion_header", "a header name");
        if (string.Equals(value, GatewayConfig.DefaultJwtAssertionHeader, StringComparison.OrdinalIgnoreCase))
        {
            return GatewayConfig.DefaultJwtAssertionHeader;
        }

        if (string.Equals(value, GatewayConfig.PomeriumJwtAssertionHeader, StringComparison.OrdinalIgnoreCase))
        {
            return GatewayConfig.PomeriumJwtAssertionHeader;
        }

        if (node is YamlScalarNode)
        {
            _errors.Add(Error("jwt_assertion_header", node,
                $"expected `{GatewayConfig.DefaultJwtAssertionHeader}` (the default) or `{GatewayConfig.PomeriumJwtAssertionHeader}` (for servers written for Pomerium), got `{value}`"));
        }

        return GatewayConfig.DefaultJwtAssertionHeader;
    }
}
