using System.Text;

namespace Gatehouse.Configuration;

/// <summary>
/// The OAuth 2.1 authorization server that issues tokens to MCP clients (<c>authorization_server:</c>). Every key
/// has a default, so a file without the section gets a server that accepts Client ID Metadata Documents and
/// pre-registered clients, and refuses dynamic registration.
/// </summary>
internal sealed record AuthorizationServerConfig
{
    public static readonly TimeSpan DefaultAccessTokenLifetime = TimeSpan.FromHours(1);
    public static readonly TimeSpan DefaultRefreshTokenLifetime = TimeSpan.FromDays(30);

    public static AuthorizationServerConfig Default { get; } = new();

    /// <summary>How long an access token lives (<c>access_token_lifetime</c>, default 1 h, 1 min to 24 h).</summary>
    public TimeSpan AccessTokenLifetime { get; init; } = DefaultAccessTokenLifetime;

    /// <summary>
    /// How long a grant lasts from the user's approval (<c>refresh_token_lifetime</c>, default 30 days): rotated refresh
    /// tokens keep the first one's expiry, so the user authorizes again after this long.
    /// </summary>
    public TimeSpan RefreshTokenLifetime { get; init; } = DefaultRefreshTokenLifetime;

    /// <summary>
    /// A PEM file of EC P-256 private keys (<c>signing_key_file</c>): the first signs, the others stay published so
    /// that tokens they signed remain valid. Null: keys are generated once and stored in the database.
    /// </summary>
    public string? SigningKeyFile { get; init; }

    /// <summary>
    /// How long a used refresh token is still accepted (<c>refresh_token_reuse_leeway</c>, default 30 s), for clients
    /// that refresh from two places at once; a use after it revokes the whole grant (OAuth 2.1 §4.3.1).
    /// </summary>
    public TimeSpan RefreshTokenReuseLeeway { get; init; } = TimeSpan.FromSeconds(30);

    public ClientIdMetadataDocumentsConfig ClientIdMetadataDocuments { get; init; } = new();

    /// <summary>RFC 7591 registration (<c>dynamic_client_registration.enabled</c>, default off).</summary>
    public bool DynamicClientRegistration { get; init; }
}

/// <summary>
/// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP authorization, "Client ID
/// Metadata Documents"): a client_id that is an https URL naming the client's own metadata.
/// </summary>
internal sealed record ClientIdMetadataDocumentsConfig
{
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// Hosts whose documents are accepted (<c>allowed_domains</c>, or Pomerium's top-level
    /// <c>mcp_allowed_client_id_domains</c>): an exact host, or <c>*.example.com</c> for its subdomains. Empty: any
    /// public host.
    /// </summary>
    public IReadOnlyList<string> AllowedDomains { get; init; } = [];

    /// <summary>
    /// For development only (<c>allow_private_addresses</c>): fetch documents from loopback and private addresses,
    /// and over plain http on loopback. Off, such documents are refused (SSRF protection).
    /// </summary>
    public bool AllowPrivateAddresses { get; init; }

    /// <summary>
    /// A PEM file of CA certificates trusted, besides the system's, for documents served by a private CA
    /// (<c>tls_custom_ca_file</c>).
    /// </summary>
    public string? TlsCustomCaFile { get; init; }

    /// <summary>Whether a document at this host may be used, by the allowlist alone.</summary>
    public bool IsDomainAllowed(string host) => AllowedDomains.Count == 0 || HostAllowlist.Contains(AllowedDomains, host);
}

/// <summary>Lists of host names as the configuration writes them: <c>example.com</c>, or <c>*.example.com</c> for its subdomains.</summary>
internal static class HostAllowlist
{
    public static bool Contains(IReadOnlyList<string> domains, string host)
    {
        foreach (var domain in domains)
        {
            if (domain.StartsWith("*.", StringComparison.Ordinal)
                ? host.EndsWith(domain[1..], StringComparison.OrdinalIgnoreCase) && host.Length > domain.Length - 1
                : string.Equals(host, domain, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>An OAuth client registered in the configuration (<c>clients:</c>).</summary>
internal sealed record ConfiguredClient
{
    public required string ClientId { get; init; }

    /// <summary>Shown on the consent page; defaults to the client id.</summary>
    public required string Name { get; init; }

    /// <summary>Null for a public client (PKCE only); else a confidential client that authenticates with it.</summary>
    public string? ClientSecret { get; init; }

    public IReadOnlyList<Uri> RedirectUris { get; init; } = [];

    /// <summary>
    /// Route names whose tokens this (confidential) client may introspect (RFC 7662): a resource server checking the
    /// tokens it receives. Empty: no introspection.
    /// </summary>
    public IReadOnlyList<string> IntrospectRoutes { get; init; } = [];

    /// <summary>The secret is left out: records print every property by default.</summary>
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("ClientId = ").Append(ClientId).Append(", Name = ").Append(Name)
            .Append(", ClientSecret = ").Append(ClientSecret is null ? "null" : "(redacted)")
            .Append(", RedirectUris = [").AppendJoin(", ", RedirectUris).Append(']');
        return true;
    }
}
