using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Servers.Notes.Authorization;

/// <summary>
/// RFC 7591 dynamic client registration at <c>/register</c>, unless <see cref="NotesServerOptions.DynamicClientRegistration"/>
/// is off (the "no DCR" mode: only pre-registered clients). Open registration (RFC 7591 §3) is rate-limited per
/// address. MCP 2026-07-28 deprecates DCR; it stays because many clients still know nothing else.
/// </summary>
internal static class RegistrationEndpoint
{
    public const string RateLimitPolicy = "registration";
    private const int MaxBodyBytes = 16 * 1024;
    private const int MaxRedirectUris = 10;

    private static readonly string[] s_grantTypes = [GrantTypes.AuthorizationCode, GrantTypes.RefreshToken];
    private static readonly string[] s_authMethods =
        [ClientAuthenticationMethods.None, ClientAuthenticationMethods.ClientSecretBasic, ClientAuthenticationMethods.ClientSecretPost];

    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost(AuthorizationServer.RegisterPath, HandleAsync).RequireRateLimiting(RateLimitPolicy);

    private static async Task<IResult> HandleAsync(HttpContext context, NotesServerOptions options, ClientStore clients, TimeProvider time)
    {
        context.Response.Headers.CacheControl = "no-store";
        if (!options.DynamicClientRegistration)
        {
            return Error("access_denied",
                "Dynamic client registration is switched off on this server. Ask its operator for a client id and use that.",
                StatusCodes.Status403Forbidden);
        }

        if (context.Request.ContentType is not { } contentType || !contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            return Error("invalid_client_metadata", "Send the client metadata as application/json (RFC 7591 §3.1).");
        }

        if (await BoundedBody.ReadAsync(context.Request, MaxBodyBytes, context.RequestAborted) is not { } body)
        {
            return Error("invalid_client_metadata", $"The client metadata is larger than {MaxBodyBytes} bytes.", StatusCodes.Status413PayloadTooLarge);
        }

        ClientMetadata? metadata;
        try
        {
            metadata = JsonSerializer.Deserialize(body, NotesJsonContext.Default.ClientMetadata);
        }
        catch (JsonException)
        {
            return Error("invalid_client_metadata", "The body is not a JSON object of client metadata (RFC 7591 §2).");
        }

        if (metadata?.RedirectUris is not { Length: > 0 and <= MaxRedirectUris } redirectUris)
        {
            return Error("invalid_redirect_uri", $"redirect_uris must list 1 to {MaxRedirectUris} redirect URIs.");
        }

        foreach (var uri in redirectUris)
        {
            if (RedirectUriPolicy.Check(uri ?? "") is { } problem)
            {
                return Error("invalid_redirect_uri", $"The redirect URI '{uri}' {problem}.");
            }
        }

        // RFC 7591 §2: without token_endpoint_auth_method, the client is confidential (client_secret_basic).
        var authMethod = metadata.TokenEndpointAuthMethod ?? ClientAuthenticationMethods.ClientSecretBasic;
        if (!s_authMethods.Contains(authMethod))
        {
            return Error("invalid_client_metadata", $"token_endpoint_auth_method must be one of {string.Join(", ", s_authMethods)}.");
        }

        if (metadata.GrantTypes?.Any(g => !s_grantTypes.Contains(g)) == true || metadata.ResponseTypes?.Any(r => r != ResponseTypes.Code) == true)
        {
            return Error("invalid_client_metadata", "This server supports the grant types authorization_code and refresh_token, and the response type code.");
        }

        var name = metadata.ClientName?.Trim() is { Length: > 0 } given ? given : new Uri(redirectUris[0]!).Authority is { Length: > 0 } host ? host : "Unnamed client";
        if (name.Length > 200)
        {
            return Error("invalid_client_metadata", "client_name is longer than 200 characters.");
        }

        var (clientId, secret) = await clients.RegisterAsync(name, redirectUris!, confidential: authMethod != ClientAuthenticationMethods.None, context.RequestAborted);

        // RFC 7591 §3.2.1: the registered metadata, and the credentials.
        var registered = new ClientRegistration
        {
            ClientId = clientId,
            ClientSecret = secret,
            ClientSecretExpiresAt = secret is null ? null : 0,
            ClientIdIssuedAt = time.GetUtcNow().ToUnixTimeSeconds(),
            ClientName = name,
            RedirectUris = redirectUris!,
            TokenEndpointAuthMethod = authMethod,
            GrantTypes = s_grantTypes,
            ResponseTypes = [ResponseTypes.Code],
        };
        return TypedResults.Json(registered, NotesJsonContext.Default.ClientRegistration, statusCode: StatusCodes.Status201Created);
    }

    private static JsonHttpResult<OAuthError> Error(string error, string description, int status = StatusCodes.Status400BadRequest) =>
        TypedResults.Json(new OAuthError(error, description), NotesJsonContext.Default.OAuthError, statusCode: status);
}

/// <summary>The RFC 7591 §2 client metadata this server reads; other members are ignored.</summary>
internal sealed record ClientMetadata(
    [property: JsonPropertyName("redirect_uris")] string?[]? RedirectUris,
    [property: JsonPropertyName("client_name")] string? ClientName,
    [property: JsonPropertyName("token_endpoint_auth_method")] string? TokenEndpointAuthMethod,
    [property: JsonPropertyName("grant_types")] string[]? GrantTypes,
    [property: JsonPropertyName("response_types")] string[]? ResponseTypes);

/// <summary>RFC 7591 §3.2.1 client information response.</summary>
internal sealed record ClientRegistration
{
    [JsonPropertyName("client_id")]
    public required string ClientId { get; init; }

    [JsonPropertyName("client_secret")]
    public string? ClientSecret { get; init; }

    [JsonPropertyName("client_secret_expires_at")]
    public long? ClientSecretExpiresAt { get; init; }

    [JsonPropertyName("client_id_issued_at")]
    public long ClientIdIssuedAt { get; init; }

    [JsonPropertyName("client_name")]
    public required string ClientName { get; init; }

    [JsonPropertyName("redirect_uris")]
    public required string?[] RedirectUris { get; init; }

    [JsonPropertyName("token_endpoint_auth_method")]
    public required string TokenEndpointAuthMethod { get; init; }

    [JsonPropertyName("grant_types")]
    public required string[] GrantTypes { get; init; }

    [JsonPropertyName("response_types")]
    public required string[] ResponseTypes { get; init; }
}

/// <summary>An OAuth error body (RFC 6749 §5.2, RFC 7591 §3.2.2).</summary>
internal sealed record OAuthError(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("error_description")] string Description);
