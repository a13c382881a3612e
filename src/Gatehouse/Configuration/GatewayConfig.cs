using System.Collections.Frozen;
using System.Net;
using System.Text;
using Gatehouse.Policy;

namespace Gatehouse.Configuration;

/// <summary>The whole gateway configuration, as read from YAML and validated. Immutable: a reload builds a new one.</summary>
internal sealed record GatewayConfig
{
    public required ListenAddress Address { get; init; }
    public bool InsecureServer { get; init; }
    public string? CertificateFile { get; init; }
    public string? CertificateKeyFile { get; init; }
    public ListenAddress? MetricsAddress { get; init; }
    public IReadOnlyList<string> CorsAllowedOrigins { get; init; } = [];
    public IReadOnlyList<GatewayRoute> Routes { get; init; } = [];

    /// <summary>
    /// The top-level <c>policy</c>: rules for every protected route, combined with each route's own
    /// (<see cref="Gatehouse.Policy.RoutePolicy"/>). Null when there is none.
    /// </summary>
    public CompiledPolicy? Policy { get; init; }

    /// <summary>Absolute directory for the SQLite database and other local state (<c>data_dir</c>).</summary>
    public string DataDirectory { get; init; } = DefaultDataDirectory(Environment.GetEnvironmentVariable);

    public StorageConfig Storage { get; init; } = StorageConfig.Sqlite;

    /// <summary>
    /// The certificate whose RSA key encrypts the Data Protection key ring at rest (<c>data_protection:</c>); null
    /// keeps the key ring unencrypted in the database (ASP.NET Core warns at start-up).
    /// </summary>
    public DataProtectionConfig? DataProtection { get; init; }

    /// <summary>How users sign in (<c>idp:</c>); null means no sign-in endpoints.</summary>
    public IdpConfig? Idp { get; init; }

    /// <summary>The OAuth 2.1 authorization server for MCP clients (<c>authorization_server:</c>).</summary>
    public AuthorizationServerConfig AuthorizationServer { get; init; } = AuthorizationServerConfig.Default;

    /// <summary>OAuth clients registered in the file (<c>clients:</c>).</summary>
    public IReadOnlyList<ConfiguredClient> Clients { get; init; } = [];

    /// <summary>
    /// The request header that carries the signed identity assertion to upstreams (<c>jwt_assertion_header</c>):
    /// <c>X-Gatehouse-Jwt-Assertion</c>, or <c>X-Pomerium-Jwt-Assertion</c> for servers written for Pomerium.
    /// </summary>
    public string JwtAssertionHeader { get; init; } = DefaultJwtAssertionHeader;

    /// <summary>The audit log (<c>audit:</c>): on by default.</summary>
    public AuditConfig Audit { get; init; } = AuditConfig.Default;

    /// <summary>
    /// Hosts whose OAuth metadata, registration and token endpoints Gatehouse may reach for upstream OAuth even on a
    /// private address (<c>mcp_allowed_as_metadata_domains</c>, Pomerium's key); a route's own <c>to</c> hosts are
    /// allowed for that route without being listed. <c>*.example.com</c> names the subdomains.
    /// </summary>
    public IReadOnlyList<string> McpAllowedAsMetadataDomains { get; init; } = [];

    /// <summary>How long before an upstream token (TI) expires it is refreshed (<c>mcp_upstream_token_refresh_skew</c>).</summary>
    public TimeSpan UpstreamTokenRefreshSkew { get; init; } = DefaultUpstreamTokenRefreshSkew;

    public static readonly TimeSpan DefaultUpstreamTokenRefreshSkew = TimeSpan.FromMinutes(1);

    public const string DefaultJwtAssertionHeader = "X-Gatehouse-Jwt-Assertion";
    public const string PomeriumJwtAssertionHeader = "X-Pomerium-Jwt-Assertion";

    public bool UsesTls => CertificateFile is not null;

    /// <summary>
    /// <c>$XDG_DATA_HOME/gatehouse</c>, else <c>~/.local/share/gatehouse</c>. A relative XDG_DATA_HOME is ignored, as
    /// the XDG Base Directory specification says.
    /// </summary>
    public static string DefaultDataDirectory(Func<string, string?> getEnvironmentVariable)
    {
        var xdg = getEnvironmentVariable("XDG_DATA_HOME");
        if (!string.IsNullOrEmpty(xdg) && System.IO.Path.IsPathRooted(xdg))
        {
            return System.IO.Path.Combine(xdg, "gatehouse");
        }

        var home = getEnvironmentVariable("HOME");
        if (string.IsNullOrEmpty(home))
        {
            home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        }

        return System.IO.Path.Combine(home, ".local", "share", "gatehouse");
    }
}

/// <summary>
/// <c>data_protection.certificate_file</c> and <c>certificate_key_file</c> (PEM), plus certificates of earlier
/// rotations whose keys can still decrypt (<c>previous_certificate_files</c>, each a PEM file holding both).
/// </summary>
internal sealed record DataProtectionConfig(string CertificateFile, string CertificateKeyFile, IReadOnlyList<string> PreviousCertificateFiles);

/// <summary>Where durable state lives: <c>databroker_storage_type</c> (Pomerium's key names).</summary>
internal enum StorageType
{
    Sqlite,
    Postgres,
}

/// <summary>
/// The storage backend. The connection string may hold a password, so it is left out of <see cref="ToString"/>
/// (records print every property by default) and must never be logged.
/// </summary>
internal sealed record StorageConfig(StorageType Type, string? ConnectionString)
{
    public static StorageConfig Sqlite { get; } = new(StorageType.Sqlite, null);

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Type = ").Append(Type).Append(", ConnectionString = ").Append(ConnectionString is null ? "null" : "(redacted)");
        return true;
    }
}

/// <summary>A listen address such as <c>127.0.0.1:8080</c>, <c>[::1]:8080</c> or <c>:443</c> (every interface).</summary>
internal sealed record ListenAddress(IPAddress? Host, int Port)
{
    /// <summary>True when only this machine can connect: plain HTTP is safe only there.</summary>
    public bool IsLoopback => Host is not null && IPAddress.IsLoopback(Host);

    public IPEndPoint ToEndPoint() => new(Host ?? IPAddress.IPv6Any, Port);

    public override string ToString() => Host switch
    {
        null => $":{Port}",
        { AddressFamily: System.Net.Sockets.AddressFamily.InterNetworkV6 } => $"[{Host}]:{Port}",
        _ => $"{Host}:{Port}",
    };
}

internal enum RouteKind
{
    /// <summary>An ordinary HTTP application.</summary>
    Http,

    /// <summary><c>mcp: {server: {}}</c>: an MCP server, inspected and protected as one.</summary>
    McpServer,

    /// <summary><c>mcp: {client: {}}</c>: a web app that acts as an MCP client for its users.</summary>
    McpClient,
}

internal sealed record GatewayRoute
{
    /// <summary>Stable identifier: the <c>name</c> when given, else <c>route-N</c>.</summary>
    public required string Id { get; init; }
    public required int Index { get; init; }
    public required Uri From { get; init; }
    public string? Prefix { get; init; }
    public string? Path { get; init; }
    public string? PrefixRewrite { get; init; }
    public required IReadOnlyList<Uri> To { get; init; }
    public string? Name { get; init; }
    public string? Description { get; init; }
    public string? LogoUrl { get; init; }
    public RouteKind Kind { get; init; }
    public McpServerConfig? McpServer { get; init; }
    public bool AllowPublicUnauthenticatedAccess { get; init; }

    /// <summary>The route's own <c>policy</c>, compiled; never set on a public route.</summary>
    public CompiledPolicy? Policy { get; init; }

    /// <summary>Total time allowed for a request; null means none.</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>Time allowed without any bytes moving; null means the default for the route kind.</summary>
    public TimeSpan? IdleTimeout { get; init; }
    public IReadOnlyDictionary<string, string> SetRequestHeaders { get; init; } = FrozenDictionary<string, string>.Empty;
    public IReadOnlyList<string> RemoveRequestHeaders { get; init; } = [];
    public bool PreserveHostHeader { get; init; }
    public bool TlsSkipVerify { get; init; }

    /// <summary><c>rate_limit</c>: requests per interval for the route, per user and per client; null means none.</summary>
    public RouteRateLimits? RateLimits { get; init; }
    public string? TlsCustomCaFile { get; init; }

    /// <summary>The origin browsers send for pages served from this route: scheme://host[:port].</summary>
    public string Origin => From.GetLeftPart(UriPartial.Authority).ToLowerInvariant();

    /// <summary>
    /// The path that names this route as an OAuth protected resource (RFC 9728, RFC 8707): the matched prefix or
    /// path without a trailing slash, empty for the root. Every URL under it is the same resource, so a client that
    /// connects to <c>/sales</c> or <c>/sales/mcp</c> asks for one token.
    /// </summary>
    public string ResourcePath => (Path ?? Prefix ?? "/").TrimEnd('/');

    /// <summary>
    /// The canonical resource URI for a request that reached this route with <paramref name="scheme"/> on
    /// <paramref name="host"/>, as the client wrote them (lower-cased), and <see cref="ResourcePath"/> (MCP
    /// authorization, "Canonical Server URI").
    /// </summary>
    public string ResourceUrl(string scheme, string host) => string.Concat(scheme, "://", host.ToLowerInvariant(), ResourcePath);

    /// <summary>The public URL of this route's MCP endpoint, as listings show it.</summary>
    public string PublicUrl
    {
        get
        {
            var basePath = (Path ?? Prefix ?? "/").TrimEnd('/');
            var mcpPath = McpServer?.Path?.TrimStart('/');
            var path = string.IsNullOrEmpty(mcpPath) ? basePath : basePath + "/" + mcpPath;
            return Origin + (path.Length == 0 ? "/" : path);
        }
    }
}

internal sealed record McpServerConfig
{
    /// <summary>MCP messages are small; a bounded read lets the gateway judge every message (default 1 MiB).</summary>
    public const long DefaultMaxRequestBytes = 1024 * 1024;

    public long MaxRequestBytes { get; init; } = DefaultMaxRequestBytes;

    /// <summary>Path of the MCP endpoint below the route, shown in listings.</summary>
    public string? Path { get; init; }

    /// <summary>
    /// A client registered at the upstream's authorization server (<c>upstream_oauth2</c>); null: what the upstream
    /// needs is discovered from its 401 (docs/upstream-oauth.md).
    /// </summary>
    public UpstreamOAuth2Config? UpstreamOAuth2 { get; init; }

    /// <summary>
    /// The upstream's authorization server (issuer) when RFC 9728 discovery fails (<c>authorization_server_url</c>).
    /// </summary>
    public Uri? AuthorizationServerUrl { get; init; }
}
