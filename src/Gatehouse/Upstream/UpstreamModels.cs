using System.Text.Json.Serialization;

namespace Gatehouse.Upstream;

/// <summary>RFC 9728 §2: the upstream MCP server's protected resource metadata, the members Gatehouse uses.</summary>
internal sealed record ProtectedResourceDocument
{
    [JsonPropertyName("resource")]
    public string? Resource { get; init; }

    [JsonPropertyName("authorization_servers")]
    public IReadOnlyList<string>? AuthorizationServers { get; init; }

    [JsonPropertyName("scopes_supported")]
    public IReadOnlyList<string>? ScopesSupported { get; init; }
}

/// <summary>RFC 8414 §2 (and OpenID Connect Discovery §3): the upstream authorization server's metadata.</summary>
internal sealed record AuthorizationServerDocument
{
    [JsonPropertyName("issuer")]
    public string? Issuer { get; init; }

    [JsonPropertyName("authorization_endpoint")]
    public string? AuthorizationEndpoint { get; init; }

    [JsonPropertyName("token_endpoint")]
    public string? TokenEndpoint { get; init; }

    [JsonPropertyName("registration_endpoint")]
    public string? RegistrationEndpoint { get; init; }

    [JsonPropertyName("revocation_endpoint")]
    public string? RevocationEndpoint { get; init; }

    [JsonPropertyName("scopes_supported")]
    public IReadOnlyList<string>? ScopesSupported { get; init; }

    [JsonPropertyName("response_types_supported")]
    public IReadOnlyList<string>? ResponseTypesSupported { get; init; }

    [JsonPropertyName("grant_types_supported")]
    public IReadOnlyList<string>? GrantTypesSupported { get; init; }

    [JsonPropertyName("token_endpoint_auth_methods_supported")]
    public IReadOnlyList<string>? TokenEndpointAuthMethodsSupported { get; init; }

    [JsonPropertyName("code_challenge_methods_supported")]
    public IReadOnlyList<string>? CodeChallengeMethodsSupported { get; init; }

    [JsonPropertyName("authorization_response_iss_parameter_supported")]
    public bool? AuthorizationResponseIssParameterSupported { get; init; }

    [JsonPropertyName("client_id_metadata_document_supported")]
    public bool? ClientIdMetadataDocumentSupported { get; init; }
}

/// <summary>RFC 7591 §3.1: what Gatehouse asks to be registered as.</summary>
internal sealed record ClientRegistrationRequest
{
    [JsonPropertyName("client_name")]
    public required string ClientName { get; init; }

    [JsonPropertyName("redirect_uris")]
    public required IReadOnlyList<string> RedirectUris { get; init; }

    [JsonPropertyName("grant_types")]
    public IReadOnlyList<string> GrantTypes { get; init; } = ["authorization_code", "refresh_token"];

    [JsonPropertyName("response_types")]
    public IReadOnlyList<string> ResponseTypes { get; init; } = ["code"];

    [JsonPropertyName("token_endpoint_auth_method")]
    public required string TokenEndpointAuthMethod { get; init; }

    [JsonPropertyName("scope")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Scope { get; init; }
}

/// <summary>RFC 7591 §3.2.1: the registration the authorization server made.</summary>
internal sealed record ClientRegistrationResponse
{
    [JsonPropertyName("client_id")]
    public string? ClientId { get; init; }

    [JsonPropertyName("client_secret")]
    public string? ClientSecret { get; init; }

    [JsonPropertyName("client_secret_expires_at")]
    public long? ClientSecretExpiresAt { get; init; }

    [JsonPropertyName("token_endpoint_auth_method")]
    public string? TokenEndpointAuthMethod { get; init; }
}

/// <summary>
/// The Client ID Metadata Document Gatehouse publishes for itself (draft-ietf-oauth-client-id-metadata-document §4):
/// its <c>client_id</c> is the URL it is served at.
/// </summary>
internal sealed record ClientMetadataDocumentBody
{
    [JsonPropertyName("client_id")]
    public required string ClientId { get; init; }

    [JsonPropertyName("client_name")]
    public required string ClientName { get; init; }

    [JsonPropertyName("client_uri")]
    public required string ClientUri { get; init; }

    [JsonPropertyName("redirect_uris")]
    public required IReadOnlyList<string> RedirectUris { get; init; }

    [JsonPropertyName("grant_types")]
    public IReadOnlyList<string> GrantTypes { get; init; } = ["authorization_code", "refresh_token"];

    [JsonPropertyName("response_types")]
    public IReadOnlyList<string> ResponseTypes { get; init; } = ["code"];

    [JsonPropertyName("token_endpoint_auth_method")]
    public string TokenEndpointAuthMethod { get; init; } = "none";
}

/// <summary>The token set kept in the vault (protected as a whole with Data Protection).</summary>
internal sealed record StoredTokenSet
{
    [JsonPropertyName("access_token")]
    public required string AccessToken { get; init; }

    [JsonPropertyName("refresh_token")]
    public string? RefreshToken { get; init; }

    [JsonPropertyName("token_type")]
    public string TokenType { get; init; } = "Bearer";
}

/// <summary>
/// What a pending upstream authorization needs at its callback. It travels as the <c>state</c> parameter itself,
/// protected (encrypted and authenticated) and time-limited with Data Protection, so any replica can finish it and
/// nothing is stored for abandoned attempts.
/// </summary>
internal sealed record PendingAuthorizationPayload
{
    [JsonPropertyName("sub")]
    public required string Subject { get; init; }

    [JsonPropertyName("route")]
    public required string RouteId { get; init; }

    [JsonPropertyName("resource_key")]
    public required string ResourceKey { get; init; }

    [JsonPropertyName("resource")]
    public string? Resource { get; init; }

    [JsonPropertyName("issuer")]
    public required string Issuer { get; init; }

    /// <summary>RFC 9207 §2.4: the authorization server said it sends <c>iss</c>, so a response without it is refused.</summary>
    [JsonPropertyName("iss_required")]
    public bool IssRequired { get; init; }

    [JsonPropertyName("token_endpoint")]
    public required string TokenEndpoint { get; init; }

    [JsonPropertyName("revocation_endpoint")]
    public string? RevocationEndpoint { get; init; }

    [JsonPropertyName("code_verifier")]
    public required string CodeVerifier { get; init; }

    [JsonPropertyName("client_id")]
    public required string ClientId { get; init; }

    [JsonPropertyName("client_kind")]
    public UpstreamClientKind ClientKind { get; init; }

    [JsonPropertyName("auth_method")]
    public string? TokenEndpointAuthMethod { get; init; }

    [JsonPropertyName("redirect_uri")]
    public required string RedirectUri { get; init; }

    [JsonPropertyName("return_url")]
    public required string ReturnUrl { get; init; }

    [JsonPropertyName("scopes")]
    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>Random, so that two attempts never share a state value.</summary>
    [JsonPropertyName("nonce")]
    public required string Nonce { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(ProtectedResourceDocument))]
[JsonSerializable(typeof(AuthorizationServerDocument))]
[JsonSerializable(typeof(ClientRegistrationRequest))]
[JsonSerializable(typeof(ClientRegistrationResponse))]
[JsonSerializable(typeof(ClientMetadataDocumentBody))]
[JsonSerializable(typeof(StoredTokenSet))]
[JsonSerializable(typeof(PendingAuthorizationPayload))]
internal sealed partial class UpstreamJsonContext : JsonSerializerContext;
