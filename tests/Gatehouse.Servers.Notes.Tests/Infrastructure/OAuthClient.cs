using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Servers.Notes.Tests.Infrastructure;

/// <summary>One authorization request: its URL and the secrets the client keeps to redeem the code.</summary>
internal sealed record AuthorizationRequest(string Url, string State, string Verifier);

/// <summary>
/// An OAuth client of the Notes server, written from the specs rather than from the server's code: registration
/// (RFC 7591), authorization requests with PKCE S256 (RFC 7636) and a resource (RFC 8707), and the token endpoint.
/// </summary>
internal sealed class OAuthClient(NotesTestServer server, string clientId, string redirectUri, string? secret = null)
{
    public const string DefaultRedirectUri = "http://127.0.0.1:47011/callback";

    public string ClientId => clientId;

    public string RedirectUri => redirectUri;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Registers a client dynamically; a public one unless <paramref name="authMethod"/> says otherwise.</summary>
    public static async Task<OAuthClient> RegisterAsync(NotesTestServer server, string redirectUri = DefaultRedirectUri, string authMethod = "none")
    {
        using var response = await server.Http.PostAsJsonAsync("/register", new
        {
            client_name = "Test client",
            redirect_uris = new[] { redirectUri },
            token_endpoint_auth_method = authMethod,
            grant_types = new[] { "authorization_code", "refresh_token" },
        }, Ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.True(response.StatusCode == HttpStatusCode.Created, body.ToString());
        var secret = body.TryGetProperty("client_secret", out var s) ? s.GetString() : null;
        return new OAuthClient(server, body.GetProperty("client_id").GetString()!, redirectUri, secret);
    }

    /// <summary>A fresh authorization request: new state, new PKCE verifier.</summary>
    public AuthorizationRequest NewRequest(
        string? scope = "notes:read notes:write", string? resource = "", string challengeMethod = "S256", string? redirect = null,
        IEnumerable<KeyValuePair<string, string>>? extra = null)
    {
        var verifier = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32));
        var state = Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        var parameters = new List<KeyValuePair<string, string>>
        {
            new("response_type", "code"),
            new("client_id", clientId),
            new("redirect_uri", redirect ?? redirectUri),
            new("state", state),
            new("code_challenge_method", challengeMethod),
            new("code_challenge", challengeMethod == "S256" ? Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))) : verifier),
        };
        if (scope is not null)
        {
            parameters.Add(new("scope", scope));
        }

        // "" means the MCP endpoint, as MCP clients send it; null sends no resource at all.
        if (resource is not null)
        {
            parameters.Add(new("resource", resource.Length == 0 ? server.McpUrl : resource));
        }

        parameters.AddRange(extra ?? []);
        var query = string.Join('&', parameters.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
        return new AuthorizationRequest("/authorize?" + query, state, verifier);
    }

    public Task<TokenResponse> RedeemAsync(string code, string verifier, string? redirect = null, string? resource = null) =>
        TokenRequestAsync(
        [
            new("grant_type", "authorization_code"), new("code", code), new("code_verifier", verifier), new("redirect_uri", redirect ?? redirectUri),
            .. resource is null ? [] : new KeyValuePair<string, string>[] { new("resource", resource) },
        ]);

    public Task<TokenResponse> RefreshAsync(string refreshToken) =>
        TokenRequestAsync([new("grant_type", "refresh_token"), new("refresh_token", refreshToken)]);

    /// <summary>
    /// A token request; a confidential client authenticates with HTTP Basic (RFC 6749 §2.3.1), a public one names
    /// itself with client_id.
    /// </summary>
    public async Task<TokenResponse> TokenRequestAsync(List<KeyValuePair<string, string>> fields, string? secretOverride = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/token");
        if ((secretOverride ?? secret) is { } clientSecret)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes(Uri.EscapeDataString(clientId) + ":" + Uri.EscapeDataString(clientSecret))));
        }
        else
        {
            fields.Add(new("client_id", clientId));
        }

        request.Content = new FormUrlEncodedContent(fields);
        using var response = await server.Http.SendAsync(request, Ct);
        return new TokenResponse(response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>(Ct));
    }
}

/// <summary>What the token endpoint answered.</summary>
internal sealed record TokenResponse(HttpStatusCode Status, JsonElement Body)
{
    public string? AccessToken => Member("access_token");

    public string? RefreshToken => Member("refresh_token");

    public string? Error => Member("error");

    public string? Scope => Member("scope");

    /// <summary>The access token, parsed (not validated: that is the server's job).</summary>
    public JsonWebToken Jwt => new(AccessToken!);

    private string? Member(string name) => Body.ValueKind == JsonValueKind.Object && Body.TryGetProperty(name, out var value) ? value.GetString() : null;
}
