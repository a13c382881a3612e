namespace Gatehouse.Upstream;

/// <summary>
/// What Gatehouse knows about the authorization an upstream MCP server needs: its resource (RFC 9728 / RFC 8707) and
/// its authorization server's endpoints and capabilities (RFC 8414), discovered or configured.
/// </summary>
internal sealed record UpstreamAuthServer
{
    /// <summary>The issuer: metadata's <c>issuer</c>, or the token endpoint for fixed endpoints.</summary>
    public required string Issuer { get; init; }

    public required Uri AuthorizationEndpoint { get; init; }

    public required Uri TokenEndpoint { get; init; }

    public Uri? RegistrationEndpoint { get; init; }

    public Uri? RevocationEndpoint { get; init; }

    /// <summary>
    /// The upstream's canonical resource (the protected resource metadata's <c>resource</c>), sent as RFC 8707
    /// <c>resource</c>; null for fixed endpoints (providers such as GitHub or Entra ID refuse or ignore it).
    /// </summary>
    public string? Resource { get; init; }

    /// <summary>Where the protected resource metadata was read, when it was.</summary>
    public Uri? ResourceMetadataUrl { get; init; }

    /// <summary>Where the authorization server metadata was read, when it was.</summary>
    public Uri? MetadataUrl { get; init; }

    /// <summary>The protected resource metadata's <c>scopes_supported</c>; null when absent.</summary>
    public IReadOnlyList<string>? ResourceScopes { get; init; }

    /// <summary>The authorization server metadata's <c>scopes_supported</c>; null when absent.</summary>
    public IReadOnlyList<string>? ServerScopes { get; init; }

    /// <summary><c>token_endpoint_auth_methods_supported</c>; null when absent (RFC 8414: then client_secret_basic).</summary>
    public IReadOnlyList<string>? TokenEndpointAuthMethods { get; init; }

    public IReadOnlyList<string>? CodeChallengeMethods { get; init; }

    public bool ClientIdMetadataDocumentSupported { get; init; }

    /// <summary>RFC 9207: the authorization response carries <c>iss</c>, and it must be this issuer.</summary>
    public bool IssParameterSupported { get; init; }

    /// <summary>The scope the upstream's 401 challenge named, when discovery started from one.</summary>
    public IReadOnlyList<string>? ChallengeScopes { get; init; }

    /// <summary>What vault records are tied to: the resource, or the upstream URL for fixed endpoints.</summary>
    public required string ResourceKey { get; init; }
}

internal enum UpstreamClientKind
{
    /// <summary>Registered by an administrator (<c>upstream_oauth2.client_id</c>) or given to the probe.</summary>
    PreRegistered,

    /// <summary>Gatehouse's own Client ID Metadata Document URL.</summary>
    MetadataDocument,

    /// <summary>Registered with RFC 7591 dynamic client registration.</summary>
    Dynamic,
}

/// <summary>How Gatehouse identifies itself to one upstream authorization server. Secret left out of ToString.</summary>
internal sealed record UpstreamClient(string ClientId, string? ClientSecret, UpstreamClientKind Kind, string? TokenEndpointAuthMethod)
{
    public override string ToString() => $"UpstreamClient {{ ClientId = {ClientId}, Kind = {Kind}, Secret = {(ClientSecret is null ? "none" : "(redacted)")}, AuthMethod = {TokenEndpointAuthMethod} }}";
}

/// <summary>A token response (RFC 6749 §5.1). Secrets left out of ToString.</summary>
internal sealed record UpstreamTokenSet(string AccessToken, string? RefreshToken, string TokenType, DateTimeOffset? ExpiresAt, string? Scope)
{
    public override string ToString() => $"UpstreamTokenSet {{ TokenType = {TokenType}, ExpiresAt = {ExpiresAt:O}, Scope = {Scope}, RefreshToken = {(RefreshToken is null ? "none" : "(redacted)")} }}";
}

/// <summary>An authorization request ready to send the browser to, with what its callback needs.</summary>
internal sealed record UpstreamAuthorizationRequest(Uri Url, string State, string CodeVerifier, IReadOnlyList<string> Scopes);

internal enum UpstreamFailure
{
    /// <summary>Discovery found no usable metadata, or a document was malformed.</summary>
    Discovery,

    /// <summary>A fetch was refused because of where it would go (SSRF protection) or its scheme.</summary>
    Refused,

    /// <summary>The authorization server could not be reached, timed out or answered 5xx.</summary>
    Unavailable,

    /// <summary>RFC 6749 §5.2 <c>invalid_grant</c>: the code or refresh token is no longer valid.</summary>
    InvalidGrant,

    /// <summary>Any other OAuth error from the authorization server (invalid_client, unauthorized_client, ...).</summary>
    Rejected,

    /// <summary>The authorization response was not acceptable (state, iss, error).</summary>
    Callback,
}

/// <summary>Upstream OAuth failed; the message names the cause and never holds a token or secret.</summary>
internal sealed class UpstreamOAuthException(UpstreamFailure failure, string message, string? error = null) : Exception(message)
{
    public UpstreamFailure Failure { get; } = failure;

    /// <summary>The OAuth error code the authorization server sent, if any.</summary>
    public string? Error { get; } = error;
}
