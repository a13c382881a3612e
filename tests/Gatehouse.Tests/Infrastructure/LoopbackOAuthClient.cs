using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tests.Infrastructure;

/// <summary>
/// An OAuth client as a native MCP client is one (RFC 8252 §7.3): a public client with PKCE S256 whose redirect URI
/// is a small HTTP listener on 127.0.0.1 and a port of its own. The listener records the query of every redirect it
/// receives, so a test sees exactly what reached the client.
/// </summary>
internal sealed class LoopbackOAuthClient : IAsyncDisposable
{
    public const string CallbackPath = "/cb";

    private readonly TestUpstream _listener;
    private readonly Channel<IReadOnlyDictionary<string, string>> _redirects;

    private LoopbackOAuthClient(string clientId, TestUpstream listener, Channel<IReadOnlyDictionary<string, string>> redirects)
    {
        ClientId = clientId;
        _listener = listener;
        _redirects = redirects;
        RedirectUri = new Uri(listener.BaseUri, CallbackPath);
    }

    public string ClientId { get; }

    /// <summary>http://127.0.0.1:PORT/cb: a client registered with http://127.0.0.1/cb may use any port.</summary>
    public Uri RedirectUri { get; }

    public static async Task<LoopbackOAuthClient> StartAsync(string clientId)
    {
        var redirects = Channel.CreateUnbounded<IReadOnlyDictionary<string, string>>();
        var listener = await TestUpstream.StartAsync(app => app.MapGet(CallbackPath, (HttpContext context) =>
        {
            redirects.Writer.TryWrite(context.Request.Query.ToDictionary(q => q.Key, q => q.Value.ToString(), StringComparer.Ordinal));
            // An empty icon, or Chromium asks for /favicon.ico and reports the 404 as a console error.
            return Results.Content("""<!DOCTYPE html><title>Done</title><link rel="icon" href="data:,"><p>You can close this window.</p>""", "text/html; charset=utf-8");
        }));
        return new LoopbackOAuthClient(clientId, listener, redirects);
    }

    /// <summary>A new authorization request (fresh state and PKCE verifier) for one MCP server.</summary>
    public AuthorizationRequest NewRequest(Uri authorizationServer, string resource, string scope = "openid offline_access")
    {
        var pkce = Pkce.Create();
        var state = Pkce.Base64Url(RandomNumberGenerator.GetBytes(16));
        var query = new Dictionary<string, string>
        {
            ["response_type"] = "code",
            ["client_id"] = ClientId,
            ["redirect_uri"] = RedirectUri.ToString(),
            ["code_challenge"] = pkce.Challenge,
            ["code_challenge_method"] = "S256",
            ["state"] = state,
            ["resource"] = resource,
            ["scope"] = scope,
        };
        // AbsoluteUri, not ToString(): the latter unescapes (%20 becomes a space) and no longer equals what the browser asks for.
        var url = new Uri(authorizationServer, "/.gatehouse/oauth/authorize?" + string.Join('&', query.Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value)}"))).AbsoluteUri;
        return new AuthorizationRequest(url, state, pkce.Verifier, resource);
    }

    /// <summary>The query of the next redirect the listener receives (bounded wait).</summary>
    public async Task<IReadOnlyDictionary<string, string>> NextRedirectAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(15));
        return await _redirects.Reader.ReadAsync(timeout.Token);
    }

    /// <summary>Whether a redirect arrived that no test has read yet.</summary>
    public bool HasUnreadRedirect => _redirects.Reader.Count > 0;

    /// <summary>Redeems a code at the token endpoint (OAuth 2.1 §4.1.3), as the client would, with its verifier.</summary>
    public async Task<IssuedTokens> RedeemAsync(HttpClient gateway, AuthorizationRequest request, string code)
    {
        using var response = await PostTokenAsync(gateway, new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = RedirectUri.ToString(),
            ["client_id"] = ClientId,
            ["code_verifier"] = request.CodeVerifier,
            ["resource"] = request.Resource,
        });
        return await IssuedTokens.ReadSuccessAsync(response);
    }

    public Task<HttpResponseMessage> RefreshAsync(HttpClient gateway, string refreshToken) =>
        PostTokenAsync(gateway, new Dictionary<string, string>
        {
            ["grant_type"] = "refresh_token",
            ["refresh_token"] = refreshToken,
            ["client_id"] = ClientId,
        });

    private static Task<HttpResponseMessage> PostTokenAsync(HttpClient gateway, Dictionary<string, string> form) =>
        gateway.PostAsync("/.gatehouse/oauth/token", new FormUrlEncodedContent(form), TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => _listener.DisposeAsync();
}

internal sealed record AuthorizationRequest(string Url, string State, string CodeVerifier, string Resource);

/// <summary>A successful token endpoint answer, as the browser tests read it.</summary>
internal sealed record IssuedTokens(string AccessToken, string? RefreshToken)
{
    public static async Task<IssuedTokens> ReadSuccessAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, $"token endpoint: {(int)response.StatusCode} {body}");
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        return new IssuedTokens(
            root.GetProperty("access_token").GetString()!,
            root.TryGetProperty("refresh_token", out var refresh) ? refresh.GetString() : null);
    }

    /// <summary>The OAuth error code of a refused token request (RFC 6749 §5.2).</summary>
    public static async Task<string?> ReadErrorAsync(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        return json.RootElement.TryGetProperty("error", out var error) ? error.GetString() : null;
    }
}
