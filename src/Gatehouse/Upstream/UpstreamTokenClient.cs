using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Gatehouse.Upstream;

/// <summary>Where and as whom Gatehouse calls one upstream token endpoint.</summary>
internal sealed record TokenEndpointClient(Uri TokenEndpoint, string ClientId, string? ClientSecret, string? AuthMethod, string? Resource);

/// <summary>
/// Calls to an upstream authorization server's token, registration and revocation endpoints (RFC 6749 §4.1.3, §6,
/// RFC 7591, RFC 7009), with plain HttpClient and System.Text.Json through <see cref="UpstreamHttp"/>. Error messages
/// carry the provider's error code, never a token or a secret.
/// </summary>
internal sealed class UpstreamTokenClient(UpstreamHttp http, TimeProvider time)
{
    /// <summary>RFC 6749 §4.1.3 with RFC 7636 §4.5's <c>code_verifier</c> and RFC 8707's <c>resource</c>.</summary>
    public Task<UpstreamTokenSet> ExchangeCodeAsync(TokenEndpointClient client, OutboundPolicy policy, string code, string redirectUri, string codeVerifier, CancellationToken cancellationToken) =>
        RequestAsync(client, policy,
        [
            new("grant_type", "authorization_code"),
            new("code", code),
            new("redirect_uri", redirectUri),
            new("code_verifier", codeVerifier),
        ], previousRefreshToken: null, cancellationToken);

    /// <summary>RFC 6749 §6. A provider that issues no new refresh token leaves the old one valid (§6, last paragraph).</summary>
    public Task<UpstreamTokenSet> RefreshAsync(TokenEndpointClient client, OutboundPolicy policy, string refreshToken, CancellationToken cancellationToken) =>
        RequestAsync(client, policy,
        [
            new("grant_type", "refresh_token"),
            new("refresh_token", refreshToken),
        ], refreshToken, cancellationToken);

    private async Task<UpstreamTokenSet> RequestAsync(
        TokenEndpointClient client, OutboundPolicy policy, List<KeyValuePair<string, string>> fields, string? previousRefreshToken, CancellationToken cancellationToken)
    {
        if (client.Resource is not null)
        {
            fields.Add(new("resource", client.Resource));
        }

        // auth_style unset (Pomerium's, and Go oauth2's, behaviour): Basic first, then the body if Basic was refused.
        var styles = client.ClientSecret is null ? ["none"]
            : client.AuthMethod is "client_secret_basic" or "client_secret_post" ? [client.AuthMethod]
            : new[] { "client_secret_basic", "client_secret_post" };
        UpstreamOAuthException? last = null;
        foreach (var style in styles)
        {
            try
            {
                return await SendTokenRequestAsync(client, policy, fields, style, previousRefreshToken, cancellationToken);
            }
            catch (UpstreamOAuthException ex) when (ex.Error is "invalid_client" or "unauthorized_client" && style == "client_secret_basic" && styles.Length > 1)
            {
                last = ex;
            }
        }

        throw last!;
    }

    private async Task<UpstreamTokenSet> SendTokenRequestAsync(
        TokenEndpointClient client, OutboundPolicy policy, List<KeyValuePair<string, string>> fields, string style, string? previousRefreshToken, CancellationToken cancellationToken)
    {
        var form = new List<KeyValuePair<string, string>>(fields);
        using var request = new HttpRequestMessage(HttpMethod.Post, client.TokenEndpoint);
        switch (style)
        {
            case "client_secret_basic":
                // RFC 6749 §2.3.1: both parts form-urlencoded before Base64.
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(
                    Uri.EscapeDataString(client.ClientId) + ":" + Uri.EscapeDataString(client.ClientSecret!))));
                break;
            case "client_secret_post":
                form.Add(new("client_id", client.ClientId));
                form.Add(new("client_secret", client.ClientSecret!));
                break;
            default:
                form.Add(new("client_id", client.ClientId));
                break;
        }

        request.Content = new FormUrlEncodedContent(form);
        request.Headers.Accept.ParseAdd("application/json");
        var response = await http.SendAsync(request, policy, "The token endpoint", cancellationToken);
        if ((int)response.Status >= 500)
        {
            throw new UpstreamOAuthException(UpstreamFailure.Unavailable, $"The token endpoint {client.TokenEndpoint.GetLeftPart(UriPartial.Authority)} answered {(int)response.Status}");
        }

        JsonElement body;
        try
        {
            body = JsonDocument.Parse(response.Body).RootElement;
        }
        catch (JsonException)
        {
            body = default;
        }

        if (response.Status != HttpStatusCode.OK || body.ValueKind != JsonValueKind.Object || String(body, "access_token") is not { } accessToken)
        {
            var error = body.ValueKind == JsonValueKind.Object ? String(body, "error") : null;
            var failure = error == "invalid_grant" ? UpstreamFailure.InvalidGrant : UpstreamFailure.Rejected;
            throw new UpstreamOAuthException(failure,
                $"The token endpoint {client.TokenEndpoint.GetLeftPart(UriPartial.Authority)} refused the request ({(int)response.Status} {error ?? "without an OAuth error"})", error);
        }

        var tokenType = String(body, "token_type") ?? "Bearer";
        if (!string.Equals(tokenType, "Bearer", StringComparison.OrdinalIgnoreCase))
        {
            throw new UpstreamOAuthException(UpstreamFailure.Rejected, $"The token endpoint issued a '{tokenType}' token; only Bearer tokens (RFC 6750) can be forwarded");
        }

        var expiresAt = ExpiresAt(body);
        return new UpstreamTokenSet(accessToken, String(body, "refresh_token") ?? previousRefreshToken, "Bearer", expiresAt, String(body, "scope"));
    }

    /// <summary>RFC 6749 §5.1 <c>expires_in</c>, as a number or (GitHub and others) a numeric string.</summary>
    private DateTimeOffset? ExpiresAt(JsonElement body)
    {
        if (!body.TryGetProperty("expires_in", out var value))
        {
            return null;
        }

        long seconds;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out seconds) ||
            value.ValueKind == JsonValueKind.String && long.TryParse(value.GetString(), System.Globalization.CultureInfo.InvariantCulture, out seconds))
        {
            return seconds > 0 ? time.GetUtcNow().AddSeconds(seconds) : null;
        }

        return null;
    }

    /// <summary>RFC 7591 §3: registers Gatehouse as a confidential-if-allowed client with one redirect URI.</summary>
    public async Task<ClientRegistrationResponse> RegisterAsync(Uri registrationEndpoint, OutboundPolicy policy, string redirectUri, IReadOnlyList<string>? authMethods, CancellationToken cancellationToken)
    {
        // RFC 8414 §2: absent means client_secret_basic only. Prefer a secret: the token vault is server-side.
        var method = authMethods is null || authMethods.Contains("client_secret_basic") ? "client_secret_basic"
            : authMethods.Contains("client_secret_post") ? "client_secret_post"
            : "none";
        var registration = new ClientRegistrationRequest
        {
            ClientName = "Gatehouse",
            RedirectUris = [redirectUri],
            TokenEndpointAuthMethod = method,
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, registrationEndpoint)
        {
            Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(registration, UpstreamJsonContext.Default.ClientRegistrationRequest)),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var response = await http.SendAsync(request, policy, "The registration endpoint", cancellationToken);
        if ((int)response.Status >= 500)
        {
            throw new UpstreamOAuthException(UpstreamFailure.Unavailable, $"The registration endpoint {registrationEndpoint.GetLeftPart(UriPartial.Authority)} answered {(int)response.Status}");
        }

        ClientRegistrationResponse? result = null;
        try
        {
            result = JsonSerializer.Deserialize(response.Body, UpstreamJsonContext.Default.ClientRegistrationResponse);
        }
        catch (JsonException)
        {
        }

        if (response.Status is not (HttpStatusCode.Created or HttpStatusCode.OK) || string.IsNullOrEmpty(result?.ClientId))
        {
            throw new UpstreamOAuthException(UpstreamFailure.Rejected,
                $"The registration endpoint {registrationEndpoint.GetLeftPart(UriPartial.Authority)} refused to register Gatehouse ({(int)response.Status})");
        }

        return result with { TokenEndpointAuthMethod = result.TokenEndpointAuthMethod ?? method };
    }

    /// <summary>RFC 7009 §2.1: revokes a token, best effort (the caller logs failures without the token).</summary>
    public async Task RevokeAsync(Uri revocationEndpoint, TokenEndpointClient client, OutboundPolicy policy, string token, string tokenTypeHint, CancellationToken cancellationToken)
    {
        var form = new List<KeyValuePair<string, string>> { new("token", token), new("token_type_hint", tokenTypeHint) };
        using var request = new HttpRequestMessage(HttpMethod.Post, revocationEndpoint);
        if (client.ClientSecret is not null && client.AuthMethod != "client_secret_post")
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(
                Uri.EscapeDataString(client.ClientId) + ":" + Uri.EscapeDataString(client.ClientSecret))));
        }
        else
        {
            form.Add(new("client_id", client.ClientId));
            if (client.ClientSecret is not null)
            {
                form.Add(new("client_secret", client.ClientSecret));
            }
        }

        request.Content = new FormUrlEncodedContent(form);
        var response = await http.SendAsync(request, policy, "The revocation endpoint", cancellationToken);
        if (response.Status != HttpStatusCode.OK)
        {
            throw new UpstreamOAuthException(UpstreamFailure.Rejected, $"The revocation endpoint {revocationEndpoint.GetLeftPart(UriPartial.Authority)} answered {(int)response.Status}");
        }
    }

    private static string? String(JsonElement body, string name) =>
        body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;
}
