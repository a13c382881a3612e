using System.Collections.Frozen;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.Policy;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Configuration;

/// <summary>
/// Reads a Gatehouse YAML file into a <see cref="GatewayConfig"/>. It walks YamlDotNet's node model rather than
/// deserialising into classes so that every error can name the key, the line and the column, and say what to
/// write instead. All errors are collected; nothing is returned unless the whole file is valid.
/// </summary>
internal sealed partial class YamlConfigReader(Func<string, string?> getEnvironmentVariable, string? baseDirectory = null)
{
    private static readonly string[] s_topLevelKeys =
    [
        "address", "insecure_server", "certificate_file", "certificate_key_file", "metrics_address",
        "cors_allowed_origins", "routes", "policy", "data_dir", "databroker_storage_type", "databroker_storage_connection_string",
        "idp", "authorization_server", "clients", "mcp_allowed_client_id_domains", "jwt_assertion_header", "data_protection",
        "audit", "mcp_allowed_as_metadata_domains", "mcp_upstream_token_refresh_skew",
    ];

    private static readonly string[] s_routeKeys =
    [
        "from", "prefix", "path", "prefix_rewrite", "to", "name", "description", "logo_url", "mcp",
        "allow_public_unauthenticated_access", "policy", "timeout", "idle_timeout", "set_request_headers",
        "remove_request_headers", "preserve_host_header", "tls_skip_verify", "tls_custom_ca_file", "rate_limit",
    ];

    private static readonly string[] s_mcpServerKeys = ["max_request_bytes", "path", "upstream_oauth2", "authorization_server_url"];

    private readonly List<ConfigError> _errors = [];

    public static GatewayConfig Load(string path)
    {
        var fullPath = System.IO.Path.GetFullPath(path);
        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(path, [new ConfigError("(file)", 0, 0, $"cannot read the file: {ex.Message}")]);
        }

        return Parse(text, path, System.IO.Path.GetDirectoryName(fullPath));
    }

    public static GatewayConfig Parse(string yaml, string sourceName = "config", string? baseDirectory = null) =>
        new YamlConfigReader(Environment.GetEnvironmentVariable, baseDirectory).Read(yaml, sourceName);

    public GatewayConfig Read(string yaml, string sourceName)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new ConfigException(sourceName,
                [new ConfigError("(yaml)", (int)ex.Start.Line, (int)ex.Start.Column, $"not valid YAML: {ex.InnerException?.Message ?? ex.Message}")]);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            throw new ConfigException(sourceName, [new ConfigError("(file)", 0, 0, "the file is empty; it needs at least `address` and `routes`")]);
        }

        if (stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            var node = stream.Documents[0].RootNode;
            throw new ConfigException(sourceName, [Error("(root)", node, "expected a mapping of keys such as `address:` and `routes:`")]);
        }

        var config = ReadTopLevel(root);
        if (_errors.Count > 0 || config is null)
        {
            throw new ConfigException(sourceName, _errors);
        }

        return config;
    }

    private GatewayConfig? ReadTopLevel(YamlMappingNode root)
    {
        var keys = CheckKeys(root, "", s_topLevelKeys);

        var address = keys.TryGetValue("address", out var addressNode)
            ? ReadListenAddress(addressNode, "address")
            : new ListenAddress(IPAddress.Loopback, 8080);
        var certificateFile = OptionalFile(keys, "certificate_file", "certificate_file");
        var certificateKeyFile = OptionalFile(keys, "certificate_key_file", "certificate_key_file");
        var insecure = OptionalBool(keys, "insecure_server", "insecure_server") ?? false;
        var metrics = keys.TryGetValue("metrics_address", out var metricsNode) ? ReadListenAddress(metricsNode, "metrics_address") : null;
        var corsOrigins = keys.TryGetValue("cors_allowed_origins", out var corsNode) ? ReadOrigins(corsNode, "cors_allowed_origins") : [];

        if ((certificateFile is null) != (certificateKeyFile is null))
        {
            var present = certificateFile is null ? "certificate_key_file" : "certificate_file";
            _errors.Add(Error(present, keys[present], "certificate_file and certificate_key_file must be set together (PEM certificate chain and its private key)"));
        }

        if (address is not null && certificateFile is null && !insecure && !address.IsLoopback)
        {
            _errors.Add(Error("address", addressNode ?? root,
                $"plain HTTP on {address} would expose tokens to the network; set certificate_file and certificate_key_file, " +
                "listen on a loopback address such as 127.0.0.1:8080, or set insecure_server: true when TLS ends in front of Gatehouse"));
        }

        if (address is not null && metrics is not null && metrics.Port == address.Port && metrics.Port != 0)
        {
            _errors.Add(Error("metrics_address", metricsNode!, $"port {metrics.Port} is already used by address; pick another port"));
        }

        var policy = keys.TryGetValue("policy", out var policyNode) ? CompilePolicy(policyNode, "policy") : null;

        if (certificateFile is not null && certificateKeyFile is not null)
        {
            CheckCertificatePair(certificateFile, certificateKeyFile, keys["certificate_file"]);
        }

        var dataDirectory = ReadDataDirectory(keys);
        var storage = ReadStorage(keys);
        var dataProtection = ReadDataProtection(keys);
        var idp = ReadIdp(keys);
        var authorizationServer = ReadAuthorizationServer(keys);
        var jwtAssertionHeader = ReadJwtAssertionHeader(keys);
        var audit = ReadAudit(keys);
        var (asMetadataDomains, refreshSkew) = ReadUpstreamTopLevel(keys);

        var routes = new List<GatewayRoute>();
        if (!keys.TryGetValue("routes", out var routesNode))
        {
            _errors.Add(new ConfigError("routes", root.Start.Line is var l ? (int)l : 0, (int)root.Start.Column,
                "missing: add `routes:` with at least one route (`- from: http://127.0.0.1:8080` and `to: http://127.0.0.1:3000`)"));
        }
        else if (routesNode is YamlSequenceNode sequence)
        {
            for (var i = 0; i < sequence.Children.Count; i++)
            {
                if (ReadRoute(sequence.Children[i], i, corsOrigins) is { } route)
                {
                    routes.Add(route);
                }
            }

            CheckDuplicateRoutes(routes, sequence);
            CheckSignInAvailable(routes, sequence, idp);
        }
        else if (routesNode is not YamlScalarNode { Value: null or "" })
        {
            _errors.Add(Error("routes", routesNode, "expected a list of routes, each starting with `- from:`"));
        }

        var clients = ReadClients(keys, routes);
        if (address is null)
        {
            return null;
        }

        return new GatewayConfig
        {
            Address = address,
            InsecureServer = insecure,
            CertificateFile = certificateFile,
            CertificateKeyFile = certificateKeyFile,
            MetricsAddress = metrics,
            CorsAllowedOrigins = corsOrigins,
            Routes = routes,
            Policy = policy,
            DataDirectory = dataDirectory,
            Storage = storage,
            DataProtection = dataProtection,
            Idp = idp,
            AuthorizationServer = authorizationServer,
            Clients = clients,
            JwtAssertionHeader = jwtAssertionHeader,
            Audit = audit,
            McpAllowedAsMetadataDomains = asMetadataDomains,
            UpstreamTokenRefreshSkew = refreshSkew,
        };
    }

    private string ReadDataDirectory(Dictionary<string, YamlNode> keys)
    {
        if (!keys.TryGetValue("data_dir", out var node))
        {
            return GatewayConfig.DefaultDataDirectory(getEnvironmentVariable);
        }

        var text = Scalar(node, "data_dir", "a directory path");
        if (string.IsNullOrWhiteSpace(text))
        {
            if (node is YamlScalarNode)
            {
                _errors.Add(Error("data_dir", node, "expected a directory path such as /var/lib/gatehouse; remove the key to use ~/.local/share/gatehouse"));
            }

            return GatewayConfig.DefaultDataDirectory(getEnvironmentVariable);
        }

        // Relative to the configuration file, not to wherever the process happened to start.
        var full = System.IO.Path.GetFullPath(text, baseDirectory ?? Directory.GetCurrentDirectory());
        if (File.Exists(full))
        {
            _errors.Add(Error("data_dir", node, $"`{full}` is a file; data_dir must name a directory (it is created when missing)"));
        }

        return full;
    }

    private StorageConfig ReadStorage(Dictionary<string, YamlNode> keys)
    {
        var type = StorageType.Sqlite;
        if (keys.TryGetValue("databroker_storage_type", out var typeNode))
        {
            switch (Scalar(typeNode, "databroker_storage_type", "`sqlite` or `postgres`"))
            {
                case "sqlite":
                    break;
                case "postgres":
                    type = StorageType.Postgres;
                    break;
                case var other when typeNode is YamlScalarNode:
                    _errors.Add(Error("databroker_storage_type", typeNode, $"expected `sqlite` (a file in data_dir, the default) or `postgres`, got `{other}`"));
                    break;
            }
        }

        string? connectionString = null;
        if (keys.TryGetValue("databroker_storage_connection_string", out var connectionNode))
        {
            // The value is a secret: errors below describe it but never quote it.
            connectionString = Scalar(connectionNode, "databroker_storage_connection_string", "a connection string");
            if (type == StorageType.Sqlite)
            {
                _errors.Add(Error("databroker_storage_connection_string", connectionNode,
                    "SQLite storage lives in data_dir and takes no connection string; remove the key, or set `databroker_storage_type: postgres`"));
                return StorageConfig.Sqlite;
            }

            if (string.IsNullOrWhiteSpace(connectionString) && connectionNode is YamlScalarNode)
            {
                _errors.Add(Error("databroker_storage_connection_string", connectionNode,
                    "is empty; write a PostgreSQL connection string such as `Host=db;Database=gatehouse;Username=gatehouse;Password=${PGPASSWORD}`"));
                return StorageConfig.Sqlite;
            }

            if (connectionString is not null && PostgresConnectionString.Normalize(connectionString) is { Error: { } problem })
            {
                _errors.Add(Error("databroker_storage_connection_string", connectionNode, problem));
                return StorageConfig.Sqlite;
            }
        }
        else if (type == StorageType.Postgres)
        {
            _errors.Add(Error("databroker_storage_type", typeNode!,
                "postgres storage needs `databroker_storage_connection_string`, such as `Host=db;Database=gatehouse;Username=gatehouse;Password=${PGPASSWORD}`"));
        }

        return type == StorageType.Postgres && connectionString is not null ? new StorageConfig(StorageType.Postgres, PostgresConnectionString.Normalize(connectionString).Value) : StorageConfig.Sqlite;
    }

    private DataProtectionConfig? ReadDataProtection(Dictionary<string, YamlNode> top)
    {
        if (!top.TryGetValue("data_protection", out var node))
        {
            return null;
        }

        if (node is not YamlMappingNode map)
        {
            _errors.Add(Error("data_protection", node, "expected a mapping with `certificate_file` and `certificate_key_file`"));
            return null;
        }

        var keys = CheckKeys(map, "data_protection.", ["certificate_file", "certificate_key_file", "previous_certificate_files"]);
        var certificate = OptionalFile(keys, "certificate_file", "data_protection.certificate_file");
        var key = OptionalFile(keys, "certificate_key_file", "data_protection.certificate_key_file");
        if (!keys.ContainsKey("certificate_file") || !keys.ContainsKey("certificate_key_file"))
        {
            _errors.Add(Error("data_protection", map, "needs both `certificate_file` and `certificate_key_file` (PEM, an RSA key of 2048 bits or more)"));
            return null;
        }

        var previous = new List<string>();
        if (keys.TryGetValue("previous_certificate_files", out var previousNode))
        {
            foreach (var file in ReadStringList(previousNode, "data_protection.previous_certificate_files"))
            {
                var full = System.IO.Path.GetFullPath(file, baseDirectory ?? Directory.GetCurrentDirectory());
                if (Hosting.DataProtectionCertificates.Check(full, full) is { } problem)
                {
                    _errors.Add(Error("data_protection.previous_certificate_files", previousNode, $"`{full}`: {problem}"));
                }
                else
                {
                    previous.Add(full);
                }
            }
        }

        if (certificate is null || key is null || !keys.TryGetValue("certificate_file", out var certificateNode))
        {
            return null;
        }

        if (Hosting.DataProtectionCertificates.Check(certificate, key) is { } invalid)
        {
            _errors.Add(Error("data_protection.certificate_file", certificateNode, invalid));
            return null;
        }

        return new DataProtectionConfig(certificate, key, previous);
    }

    private GatewayRoute? ReadRoute(YamlNode node, int index, IReadOnlyList<string> corsOrigins)
    {
        var at = $"routes[{index}]";
        if (node is not YamlMappingNode map)
        {
            _errors.Add(Error(at, node, "expected a route mapping with at least `from:` and `to:`"));
            return null;
        }

        var errorsBefore = _errors.Count;
        var keys = CheckKeys(map, at + ".", s_routeKeys);

        Uri? from = null;
        if (keys.TryGetValue("from", out var fromNode))
        {
            from = ReadUrl(fromNode, at + ".from", requirePathless: true);
        }
        else
        {
            _errors.Add(Error(at, map, "missing `from:` (the public URL this route answers, such as https://mcp.example.com)"));
        }

        var to = new List<Uri>();
        if (!keys.TryGetValue("to", out var toNode))
        {
            _errors.Add(Error(at, map, "missing `to:` (the upstream URL, or a list of URLs to balance across)"));
        }
        else if (toNode is YamlSequenceNode toList)
        {
            if (toList.Children.Count == 0)
            {
                _errors.Add(Error(at + ".to", toNode, "the list is empty; give at least one upstream URL"));
            }

            for (var i = 0; i < toList.Children.Count; i++)
            {
                if (ReadUrl(toList.Children[i], $"{at}.to[{i}]", requirePathless: false) is { } u)
                {
                    to.Add(u);
                }
            }
        }
        else if (ReadUrl(toNode, at + ".to", requirePathless: false) is { } single)
        {
            to.Add(single);
        }

        var prefix = OptionalPath(keys, "prefix", at + ".prefix");
        var path = OptionalPath(keys, "path", at + ".path");
        var prefixRewrite = OptionalPath(keys, "prefix_rewrite", at + ".prefix_rewrite");
        if (prefix is not null && path is not null)
        {
            _errors.Add(Error(at + ".path", keys["path"], "`prefix` and `path` cannot both be set: use `prefix` to match a subtree or `path` for one exact path"));
        }

        if (prefixRewrite is not null && prefix is null && path is null)
        {
            _errors.Add(Error(at + ".prefix_rewrite", keys["prefix_rewrite"], "`prefix_rewrite` replaces the matched `prefix`; add `prefix:` (for example `prefix: /`)"));
        }

        if (to.Select(u => u.AbsoluteUri).Distinct(StringComparer.OrdinalIgnoreCase).Count() != to.Count)
        {
            _errors.Add(Error(at + ".to", toNode!, "lists the same upstream URL twice; list each upstream once"));
        }

        if (prefixRewrite is not null && path is not null)
        {
            _errors.Add(Error(at + ".prefix_rewrite", keys["prefix_rewrite"], "`prefix_rewrite` replaces the matched `prefix`; it cannot be combined with `path`"));
        }

        var (kind, mcpServer) = keys.TryGetValue("mcp", out var mcpNode) ? ReadMcp(mcpNode, at + ".mcp") : (RouteKind.Http, null);

        var isPublic = OptionalBool(keys, "allow_public_unauthenticated_access", at + ".allow_public_unauthenticated_access") ?? false;
        CompiledPolicy? policy = null;
        if (keys.TryGetValue("policy", out var policyNode))
        {
            if (isPublic)
            {
                _errors.Add(Error(at + ".policy", policyNode, "a route with allow_public_unauthenticated_access: true admits everyone, so a policy would never apply; remove one of the two"));
            }
            else
            {
                policy = CompilePolicy(policyNode, at + ".policy");
            }
        }

        var timeout = OptionalDuration(keys, "timeout", at + ".timeout");
        var idleTimeout = OptionalDuration(keys, "idle_timeout", at + ".idle_timeout");
        var setHeaders = keys.TryGetValue("set_request_headers", out var setNode) ? ReadStringMap(setNode, at + ".set_request_headers") : FrozenDictionary<string, string>.Empty;
        var removeHeaders = keys.TryGetValue("remove_request_headers", out var removeNode) ? ReadStringList(removeNode, at + ".remove_request_headers") : [];
        var tlsSkipVerify = OptionalBool(keys, "tls_skip_verify", at + ".tls_skip_verify") ?? false;
        var caFile = OptionalFile(keys, "tls_custom_ca_file", at + ".tls_custom_ca_file");
        if (caFile is not null)
        {
            CheckCaFile(caFile, keys["tls_custom_ca_file"], at + ".tls_custom_ca_file");
        }

        if (tlsSkipVerify && caFile is not null)
        {
            _errors.Add(Error(at + ".tls_skip_verify", keys["tls_skip_verify"], "`tls_skip_verify` turns certificate checks off, so `tls_custom_ca_file` would be ignored; keep only one"));
        }

        foreach (var header in setHeaders.Keys.Concat(removeHeaders))
        {
            if (!IsHeaderName(header))
            {
                _errors.Add(Error(at, map, $"`{header}` is not a valid header name (RFC 9110 §5.1: letters, digits and !#$%&'*+-.^_`|~)"));
            }
            else if (IsReservedHeader(header))
            {
                _errors.Add(Error(at, map, $"the header `{header}` is managed by Gatehouse and cannot be set or removed by a route"));
            }
        }

        foreach (var (header, value) in setHeaders)
        {
            if (value.Contains("${pomerium.", StringComparison.Ordinal))
            {
                _errors.Add(Error($"{at}.set_request_headers.{header}", keys["set_request_headers"],
                    "Pomerium's ${pomerium.…} placeholders are not supported; Gatehouse sends the identity as X-Gatehouse-Jwt-Assertion"));
            }
        }

        CheckUpstreamOAuth(mcpServer, isPublic, setHeaders, keys, map, at);
        var name = OptionalString(keys, "name", at + ".name");
        if (_errors.Count > errorsBefore || from is null)
        {
            return null;
        }

        return new GatewayRoute
        {
            Id = string.IsNullOrWhiteSpace(name) ? $"route-{index}" : name,
            Index = index,
            From = from,
            Prefix = prefix,
            Path = path,
            PrefixRewrite = prefixRewrite,
            To = to,
            Name = name,
            Description = OptionalString(keys, "description", at + ".description"),
            LogoUrl = OptionalString(keys, "logo_url", at + ".logo_url"),
            Kind = kind,
            McpServer = mcpServer,
            AllowPublicUnauthenticatedAccess = isPublic,
            Policy = policy,
            Timeout = timeout,
            IdleTimeout = idleTimeout,
            SetRequestHeaders = setHeaders,
            RemoveRequestHeaders = removeHeaders,
            PreserveHostHeader = OptionalBool(keys, "preserve_host_header", at + ".preserve_host_header") ?? false,
            TlsSkipVerify = tlsSkipVerify,
            TlsCustomCaFile = caFile,
            RateLimits = keys.TryGetValue("rate_limit", out var rateNode) ? ReadRateLimits(rateNode, at + ".rate_limit", isPublic) : null,
        };
    }

    /// <summary>Pomerium Policy Language, compiled now so that a bad rule fails the load rather than a request.</summary>
    private CompiledPolicy? CompilePolicy(YamlNode node, string at) => new PolicyCompiler(_errors, Substitute).Compile(node, at);

    private (RouteKind, McpServerConfig?) ReadMcp(YamlNode node, string at)
    {
        if (node is not YamlMappingNode map)
        {
            _errors.Add(Error(at, node, "expected `server: {}` (an MCP server) or `client: {}` (an app that calls MCP servers)"));
            return (RouteKind.Http, null);
        }

        var keys = CheckKeys(map, at + ".", ["server", "client"]);
        if (keys.ContainsKey("server") && keys.ContainsKey("client"))
        {
            _errors.Add(Error(at, map, "`mcp` holds exactly one of `server` or `client`, not both"));
            return (RouteKind.Http, null);
        }

        if (keys.TryGetValue("client", out var clientNode))
        {
            if (clientNode is YamlMappingNode clientMap)
            {
                CheckKeys(clientMap, at + ".client.", []);
            }
            else if (clientNode is not YamlScalarNode { Value: null or "" })
            {
                _errors.Add(Error(at + ".client", clientNode, "expected `{}` (the client route takes no settings yet)"));
            }

            return (RouteKind.McpClient, null);
        }

        if (!keys.TryGetValue("server", out var serverNode))
        {
            _errors.Add(Error(at, map, "expected `server: {}` or `client: {}`"));
            return (RouteKind.Http, null);
        }

        if (serverNode is YamlScalarNode { Value: null or "" })
        {
            return (RouteKind.McpServer, new McpServerConfig());
        }

        if (serverNode is not YamlMappingNode serverMap)
        {
            _errors.Add(Error(at + ".server", serverNode, "expected a mapping such as `{}` or `{max_request_bytes: 1048576}`"));
            return (RouteKind.Http, null);
        }

        var serverKeys = CheckKeys(serverMap, at + ".server.", s_mcpServerKeys);
        var max = McpServerConfig.DefaultMaxRequestBytes;
        if (serverKeys.TryGetValue("max_request_bytes", out var maxNode))
        {
            max = ReadByteSize(maxNode, at + ".server.max_request_bytes") ?? max;
        }

        var mcpPath = OptionalPath(serverKeys, "path", at + ".server.path");
        var upstreamOAuth2 = serverKeys.TryGetValue("upstream_oauth2", out var oauthNode) ? ReadUpstreamOAuth2(oauthNode, at + ".server.upstream_oauth2") : null;
        var authorizationServerUrl = serverKeys.TryGetValue("authorization_server_url", out var asNode)
            ? ReadEndpointUrl(asNode, at + ".server.authorization_server_url", allowQuery: false)
            : null;
        return (RouteKind.McpServer, new McpServerConfig
        {
            MaxRequestBytes = max,
            Path = mcpPath,
            UpstreamOAuth2 = upstreamOAuth2,
            AuthorizationServerUrl = authorizationServerUrl,
        });
    }

    private void CheckDuplicateRoutes(List<GatewayRoute> routes, YamlSequenceNode sequence)
    {
        var seen = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var route in routes)
        {
            // The key is what routing compares: the host (with the port only when one was written) and the path.
            var host = route.From.IsDefaultPort ? route.From.IdnHost : $"{route.From.IdnHost}:{route.From.Port}";
            var key = $"{host}|{route.Prefix?.TrimEnd('/')}|{route.Path}";
            if (!seen.TryAdd(key, route.Index))
            {
                _errors.Add(Error($"routes[{route.Index}]", sequence.Children[route.Index],
                    $"matches the same requests as routes[{seen[key]}] (same host, prefix and path; the scheme of `from` is not matched); the second could never be reached"));
            }

            if (!names.TryAdd(route.Id, route.Index))
            {
                _errors.Add(Error($"routes[{route.Index}].name", sequence.Children[route.Index],
                    $"the name `{route.Id}` is already used by routes[{names[route.Id]}]; route names must be unique"));
            }
        }
    }

    /// <summary>
    /// A route that is not public needs a way in: browsers sign in through <c>idp</c>. MCP server routes also take
    /// service-account tokens, so they may go without an identity provider (agents and CI only).
    /// </summary>
    private void CheckSignInAvailable(List<GatewayRoute> routes, YamlSequenceNode sequence, IdpConfig? idp)
    {
        if (idp is not null)
        {
            return;
        }

        foreach (var route in routes.Where(r => !r.AllowPublicUnauthenticatedAccess && r.Kind != RouteKind.McpServer))
        {
            _errors.Add(Error($"routes[{route.Index}]", sequence.Children[route.Index],
                "this route requires sign-in, but no identity provider is configured; add `idp:` (such as `provider: builtin` with users), " +
                "or set `allow_public_unauthenticated_access: true` to serve it to everyone"));
        }
    }

    private static bool IsReservedHeader(string header) =>
        header.Equals("X-Gatehouse-Jwt-Assertion", StringComparison.OrdinalIgnoreCase) ||
        header.Equals("X-Pomerium-Jwt-Assertion", StringComparison.OrdinalIgnoreCase) ||
        header.Equals("Host", StringComparison.OrdinalIgnoreCase) ||
        header.StartsWith("X-Forwarded-", StringComparison.OrdinalIgnoreCase);

    /// <summary>An HTTP field name is a token (RFC 9110 §5.1, §5.6.2).</summary>
    private static bool IsHeaderName(string header) =>
        header.Length > 0 && header.All(c => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c));

    private void CheckCertificatePair(string certificateFile, string keyFile, YamlNode node)
    {
        try
        {
            using var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or ArgumentException or IOException)
        {
            _errors.Add(Error("certificate_file", node, $"cannot load the PEM certificate and key ({ex.Message}); give a PEM certificate chain and its matching private key"));
        }
    }

    private void CheckCaFile(string caFile, YamlNode node, string at)
    {
        var roots = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        try
        {
            roots.ImportFromPemFile(caFile);
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException)
        {
            _errors.Add(Error(at, node, $"cannot read PEM certificates from `{caFile}` ({ex.Message})"));
            return;
        }

        if (roots.Count == 0)
        {
            _errors.Add(Error(at, node, $"`{caFile}` holds no PEM certificate (-----BEGIN CERTIFICATE-----)"));
        }

        foreach (var root in roots)
        {
            root.Dispose();
        }
    }

    // ---- scalar readers --------------------------------------------------------------------------------------

    private Dictionary<string, YamlNode> CheckKeys(YamlMappingNode map, string prefix, string[] allowed)
    {
        var result = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            if (Array.IndexOf(allowed, key) < 0)
            {
                var suggestion = Suggest(key, allowed);
                var hint = suggestion is not null
                    ? $"did you mean `{suggestion}`?"
                    : allowed.Length == 0 ? "this mapping takes no keys; write `{}`" : "allowed here: " + string.Join(", ", allowed);
                _errors.Add(Error(prefix + key, keyNode, $"unknown key; {hint}"));
                continue;
            }

            if (!result.TryAdd(key, valueNode))
            {
                _errors.Add(Error(prefix + key, keyNode, "this key appears twice; keep one"));
            }
        }

        return result;
    }

    private string? Scalar(YamlNode node, string at, string expected)
    {
        if (node is not YamlScalarNode scalar)
        {
            _errors.Add(Error(at, node, $"expected {expected}, got a {(node is YamlSequenceNode ? "list" : "mapping")}"));
            return null;
        }

        return scalar.Value is null ? null : Substitute(scalar.Value, at, node);
    }

    private string? OptionalString(Dictionary<string, YamlNode> keys, string key, string at) =>
        keys.TryGetValue(key, out var node) ? Scalar(node, at, "a string") : null;

    private bool? OptionalBool(Dictionary<string, YamlNode> keys, string key, string at)
    {
        if (!keys.TryGetValue(key, out var node))
        {
            return null;
        }

        var text = Scalar(node, at, "true or false");
        switch (text)
        {
            case "true" or "True" or "TRUE":
                return true;
            case "false" or "False" or "FALSE":
                return false;
            case null when node is not YamlScalarNode:
                return null;
            default:
                _errors.Add(Error(at, node, $"expected true or false, got `{text}`"));
                return null;
        }
    }

    private TimeSpan? OptionalDuration(Dictionary<string, YamlNode> keys, string key, string at)
    {
        if (!keys.TryGetValue(key, out var node) || Scalar(node, at, "a duration such as 30s") is not { } text)
        {
            return null;
        }

        if (!Duration.TryParse(text, out var value))
        {
            _errors.Add(Error(at, node, $"expected a duration such as 30s, 5m or 1h30m, got `{text}`"));
            return null;
        }

        return value == TimeSpan.Zero ? null : value;
    }

    private string? OptionalPath(Dictionary<string, YamlNode> keys, string key, string at)
    {
        if (!keys.TryGetValue(key, out var node) || Scalar(node, at, "a path starting with /") is not { } text)
        {
            return null;
        }

        if (!text.StartsWith('/') || text.Contains('?') || text.Contains('#') || text.Contains("//", StringComparison.Ordinal))
        {
            _errors.Add(Error(at, node, $"expected a path starting with / (no query, fragment or //), got `{text}`"));
            return null;
        }

        return text;
    }

    private string? OptionalFile(Dictionary<string, YamlNode> keys, string key, string at)
    {
        if (!keys.TryGetValue(key, out var node) || Scalar(node, at, "a file path") is not { } text)
        {
            return null;
        }

        var full = System.IO.Path.GetFullPath(text, baseDirectory ?? Directory.GetCurrentDirectory());
        if (!File.Exists(full))
        {
            _errors.Add(Error(at, node, $"the file `{full}` does not exist"));
            return null;
        }

        return full;
    }

    private long? ReadByteSize(YamlNode node, string at)
    {
        var text = Scalar(node, at, "a number of bytes");
        if (text is null)
        {
            return null;
        }

        var multiplier = 1L;
        var number = text.Trim();
        foreach (var (suffix, factor) in new[] { ("KiB", 1024L), ("MiB", 1024L * 1024) })
        {
            if (number.EndsWith(suffix, StringComparison.Ordinal))
            {
                multiplier = factor;
                number = number[..^suffix.Length].Trim();
            }
        }

        if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value <= 0 || value > int.MaxValue / multiplier)
        {
            _errors.Add(Error(at, node, $"expected a positive number of bytes such as 1048576 or 1MiB (at most 2 GiB), got `{text}`"));
            return null;
        }

        return value * multiplier;
    }

    private ListenAddress? ReadListenAddress(YamlNode node, string at)
    {
        var text = Scalar(node, at, "an address such as 127.0.0.1:8080 or :443");
        if (text is null)
        {
            return null;
        }

        var colon = text.LastIndexOf(':');
        if (colon < 0 || !int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            _errors.Add(Error(at, node, $"expected host:port such as 127.0.0.1:8080, [::1]:8080 or :443, got `{text}`"));
            return null;
        }

        var host = text[..colon].Trim('[', ']');
        if (host.Length == 0)
        {
            return new ListenAddress(null, port);
        }

        if (host == "localhost")
        {
            return new ListenAddress(IPAddress.Loopback, port);
        }

        if (!IPAddress.TryParse(host, out var ip))
        {
            _errors.Add(Error(at, node, $"`{host}` is not an IP address; write an IP (127.0.0.1, ::1, 0.0.0.0) or leave it empty (`:{port}`) for every interface"));
            return null;
        }

        return new ListenAddress(ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any) ? null : ip, port);
    }

    private Uri? ReadUrl(YamlNode node, string at, bool requirePathless)
    {
        var text = Scalar(node, at, "a URL");
        if (text is null)
        {
            if (node is YamlScalarNode)
            {
                _errors.Add(Error(at, node, "expected a URL such as http://127.0.0.1:3000"));
            }

            return null;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
        {
            _errors.Add(Error(at, node, $"expected an http:// or https:// URL with a host, got `{text}`"));
            return null;
        }

        if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment) || !string.IsNullOrEmpty(uri.UserInfo))
        {
            _errors.Add(Error(at, node, "a URL here takes no query, fragment or user:password; put credentials in set_request_headers"));
            return null;
        }

        if (requirePathless && uri.AbsolutePath != "/")
        {
            _errors.Add(Error(at, node, $"`from` names only scheme://host[:port]; move the path `{uri.AbsolutePath}` to `prefix:`"));
            return null;
        }

        return uri;
    }

    private List<string> ReadOrigins(YamlNode node, string at)
    {
        var origins = new List<string>();
        foreach (var item in ReadStringList(node, at))
        {
            if (item == "*")
            {
                _errors.Add(Error(at, node, "`*` would let any web page drive the user's MCP servers (DNS rebinding); list origins such as https://app.example.com"));
                continue;
            }

            if (!Uri.TryCreate(item, UriKind.Absolute, out var uri) || uri.AbsolutePath != "/" || uri.Host.Length == 0 ||
                (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                _errors.Add(Error(at, node, $"expected an http(s) origin such as https://app.example.com, got `{item}`"));
                continue;
            }

            origins.Add(uri.GetLeftPart(UriPartial.Authority).ToLowerInvariant());
        }

        return origins;
    }

    private List<string> ReadStringList(YamlNode node, string at)
    {
        var list = new List<string>();
        if (node is YamlScalarNode)
        {
            if (Scalar(node, at, "a string or a list") is { } single)
            {
                list.Add(single);
            }

            return list;
        }

        if (node is not YamlSequenceNode sequence)
        {
            _errors.Add(Error(at, node, "expected a list of strings"));
            return list;
        }

        for (var i = 0; i < sequence.Children.Count; i++)
        {
            if (Scalar(sequence.Children[i], $"{at}[{i}]", "a string") is { } value)
            {
                list.Add(value);
            }
        }

        return list;
    }

    private FrozenDictionary<string, string> ReadStringMap(YamlNode node, string at)
    {
        if (node is not YamlMappingNode map)
        {
            _errors.Add(Error(at, node, "expected a mapping of header names to values"));
            return FrozenDictionary<string, string>.Empty;
        }

        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (keyNode, valueNode) in map.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            if (Scalar(valueNode, $"{at}.{key}", "a string") is { } value)
            {
                result[key] = value;
            }
        }

        return result.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>
    /// Replaces <c>${NAME}</c> with the environment variable NAME so secrets stay out of the file; <c>$$</c> is a
    /// literal <c>$</c>. A missing variable is an error rather than an empty string, which would fail open.
    /// </summary>
    private string Substitute(string value, string at, YamlNode node)
    {
        if (!value.Contains('$'))
        {
            return value;
        }

        var result = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] != '$' || i + 1 >= value.Length)
            {
                result.Append(value[i]);
                continue;
            }

            if (value[i + 1] == '$')
            {
                result.Append('$');
                i++;
                continue;
            }

            var match = EnvReference().Match(value, i);
            if (!match.Success || match.Index != i)
            {
                result.Append('$');
                continue;
            }

            var name = match.Groups[1].Value;
            var env = getEnvironmentVariable(name);
            if (env is null)
            {
                _errors.Add(Error(at, node, $"the environment variable `{name}` is not set; set it or write the value directly (use $$ for a literal $)"));
            }

            result.Append(env);
            i += match.Length - 1;
        }

        return result.ToString();
    }

    private static ConfigError Error(string key, YamlNode node, string message) =>
        new(key, (int)node.Start.Line, (int)node.Start.Column, message);

    internal static string? Suggest(string key, string[] allowed)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in allowed)
        {
            if (key.Length >= 4 && (candidate.StartsWith(key, StringComparison.OrdinalIgnoreCase) || key.StartsWith(candidate, StringComparison.OrdinalIgnoreCase)))
            {
                return candidate;
            }

            var distance = Levenshtein(key, candidate);
            if (distance < bestDistance)
            {
                (best, bestDistance) = (candidate, distance);
            }
        }

        return bestDistance <= Math.Max(2, key.Length / 3) ? best : null;
    }

    private static int Levenshtein(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex EnvReference();
}
