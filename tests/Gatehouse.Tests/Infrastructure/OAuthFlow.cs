using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Web;

namespace Gatehouse.Tests.Infrastructure;

/// <summary>PKCE (RFC 7636) values for one authorization request.</summary>
internal sealed record Pkce(string Verifier, string Challenge)
{
    public static Pkce Create()
    {
        var verifier = Base64Url(RandomNumberGenerator.GetBytes(32));
        return new Pkce(verifier, Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(verifier))));
    }

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Where the authorization endpoint sent the browser in the end: the client's redirect URI and its query.</summary>
internal sealed record AuthorizationRedirect(Uri Location)
{
    private readonly System.Collections.Specialized.NameValueCollection _query = HttpUtility.ParseQueryString(Location.Query);

    public string? Code => _query["code"];

    public string? State => _query["state"];

    public string? Issuer => _query["iss"];

    public string? Error => _query["error"];
}

/// <summary>
/// A user agent that completes Gatehouse's OAuth flow without a browser, the way TESTING.md describes: it follows the
/// authorization endpoint to the sign-in form, posts it, posts the consent form, and reads the code from the final
/// redirect. Cookies are kept by hand because the session cookie is Secure and a CookieContainer would not send it
/// over http://127.0.0.1.
/// </summary>
internal sealed partial class OAuthFlow : IDisposable
{
    private readonly Dictionary<string, string> _cookies = new(StringComparer.Ordinal);

    public OAuthFlow(Uri gatewayBase)
    {
        Base = gatewayBase;
        Http = new HttpClient(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = gatewayBase };
    }

    public Uri Base { get; }

    public HttpClient Http { get; }

    public string ResourceFor(string path) => Base.GetLeftPart(UriPartial.Authority) + path;

    public void Dispose() => Http.Dispose();

    public async Task<HttpResponseMessage> GetAsync(string pathAndQuery)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery);
        return await SendAsync(request);
    }

    public async Task<HttpResponseMessage> PostFormAsync(string path, IEnumerable<KeyValuePair<string, string>> fields)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(fields) };
        return await SendAsync(request);
    }

    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request)
    {
        if (_cookies.Count > 0)
        {
            request.Headers.Add("Cookie", string.Join("; ", _cookies.Select(c => $"{c.Key}={c.Value}")));
        }

        var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        if (response.Headers.TryGetValues("Set-Cookie", out var setCookies))
        {
            foreach (var setCookie in setCookies)
            {
                var pair = setCookie.Split(';', 2)[0].Split('=', 2);
                if (setCookie.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase))
                {
                    _cookies.Remove(pair[0]);
                }
                else
                {
                    _cookies[pair[0]] = pair[1];
                }
            }
        }

        return response;
    }

    /// <summary>Signs in through the built-in provider's form (GET for the antiforgery token, then POST).</summary>
    public async Task SignInAsync(string email, string password)
    {
        using var page = await GetAsync("/.gatehouse/sign_in");
        var html = await page.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        using var response = await PostFormAsync("/.gatehouse/sign_in",
            [new("csrf_token", CsrfToken(html)), new("redirect_uri", "/"), new("email", email), new("password", password)]);
        Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"sign-in failed: {(int)response.StatusCode}");
    }

    public static string AuthorizeQuery(string clientId, string redirectUri, Pkce pkce, string? resource, string state = "state-123", string scope = "openid offline_access", IEnumerable<KeyValuePair<string, string>>? extra = null)
    {
        var parameters = new List<KeyValuePair<string, string>>
        {
            new("response_type", "code"),
            new("client_id", clientId),
            new("redirect_uri", redirectUri),
            new("code_challenge", pkce.Challenge),
            new("code_challenge_method", "S256"),
            new("state", state),
            new("scope", scope),
        };
        if (resource is not null)
        {
            parameters.Add(new("resource", resource));
        }

        parameters.AddRange(extra ?? []);
        return "/.gatehouse/oauth/authorize?" + string.Join('&', parameters.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
    }

    /// <summary>
    /// Runs the authorization request as a signed-in user: answers the consent page with <paramref name="decision"/>
    /// when it appears. Returns the final redirect to the client, or throws with the page the flow stopped on.
    /// </summary>
    public async Task<AuthorizationRedirect> AuthorizeAsync(string authorizeQuery, string decision = "allow")
    {
        using var response = await GetAsync(authorizeQuery);
        if (response.StatusCode == HttpStatusCode.OK)
        {
            var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
            var fields = HiddenFields(html);
            fields.Add(new("gatehouse_consent", decision));
            using var consent = await PostFormAsync("/.gatehouse/oauth/authorize", fields);
            return Redirect(consent);
        }

        return Redirect(response);
    }

    /// <summary>Sign-in when the authorization endpoint asks for it, then the rest of <see cref="AuthorizeAsync"/>.</summary>
    public async Task<AuthorizationRedirect> SignInAndAuthorizeAsync(string authorizeQuery, string email, string password)
    {
        await SignInAsync(email, password);
        return await AuthorizeAsync(authorizeQuery);
    }

    public async Task<TokenResponse> ExchangeCodeAsync(string code, Pkce pkce, string clientId, string redirectUri, string? resource = null, AuthenticationHeaderValue? clientAuthentication = null)
    {
        var fields = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "authorization_code"), new("code", code), new("redirect_uri", redirectUri), new("code_verifier", pkce.Verifier),
        };
        if (clientAuthentication is null)
        {
            fields.Add(new("client_id", clientId));
        }

        if (resource is not null)
        {
            fields.Add(new("resource", resource));
        }

        return await TokenRequestAsync(fields, clientAuthentication);
    }

    public Task<TokenResponse> RefreshAsync(string refreshToken, string clientId, string? resource = null)
    {
        var fields = new List<KeyValuePair<string, string>> { new("grant_type", "refresh_token"), new("refresh_token", refreshToken), new("client_id", clientId) };
        if (resource is not null)
        {
            fields.Add(new("resource", resource));
        }

        return TokenRequestAsync(fields, null);
    }

    public async Task<TokenResponse> TokenRequestAsync(IEnumerable<KeyValuePair<string, string>> fields, AuthenticationHeaderValue? clientAuthentication)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/.gatehouse/oauth/token") { Content = new FormUrlEncodedContent(fields) };
        request.Headers.Authorization = clientAuthentication;
        using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        return new TokenResponse(response.StatusCode, JsonDocument.Parse(body).RootElement.Clone(), response.Headers.WwwAuthenticate.ToString());
    }

    /// <summary>A complete flow for a configured client: sign in, consent, exchange. Returns the tokens.</summary>
    public async Task<TokenResponse> GetTokensAsync(string clientId, string redirectUri, string resource, string email, string password)
    {
        var pkce = Pkce.Create();
        await SignInAsync(email, password);
        var redirect = await AuthorizeAsync(AuthorizeQuery(clientId, redirectUri, pkce, resource));
        Assert.NotNull(redirect.Code);
        var tokens = await ExchangeCodeAsync(redirect.Code!, pkce, clientId, redirectUri);
        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        return tokens;
    }

    public static AuthorizationRedirect Redirect(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.Redirect || response.Headers.Location is not { IsAbsoluteUri: true } location)
        {
            var body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            throw new Xunit.Sdk.XunitException($"expected a redirect to the client, got {(int)response.StatusCode} {response.Headers.Location}: {body[..Math.Min(body.Length, 600)]}");
        }

        return new AuthorizationRedirect(location);
    }

    public static string CsrfToken(string html) => HttpUtility.HtmlDecode(CsrfField().Match(html).Groups[1].Value);

    public static List<KeyValuePair<string, string>> HiddenFields(string html) =>
        [.. HiddenField().Matches(html).Select(m => new KeyValuePair<string, string>(HttpUtility.HtmlDecode(m.Groups[1].Value), HttpUtility.HtmlDecode(m.Groups[2].Value)))];

    [GeneratedRegex("name=\"csrf_token\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\">")]
    private static partial Regex HiddenField();
}

/// <summary>A token endpoint answer.</summary>
internal sealed record TokenResponse(HttpStatusCode Status, JsonElement Body, string WwwAuthenticate)
{
    public string? AccessToken => Body.TryGetProperty("access_token", out var v) ? v.GetString() : null;

    public string? RefreshToken => Body.TryGetProperty("refresh_token", out var v) ? v.GetString() : null;

    public string? Error => Body.TryGetProperty("error", out var v) ? v.GetString() : null;

    public string? ErrorDescription => Body.TryGetProperty("error_description", out var v) ? v.GetString() : null;

    /// <summary>The JWT payload of the access token, decoded (no signature check: the gateway's job).</summary>
    public JsonElement AccessTokenClaims => Jwt.Payload(AccessToken!);
}

internal static class Jwt
{
    public static JsonElement Payload(string jwt) => Part(jwt, 1);

    public static JsonElement Header(string jwt) => Part(jwt, 0);

    private static JsonElement Part(string jwt, int index)
    {
        var part = jwt.Split('.')[index].Replace('-', '+').Replace('_', '/');
        part = part.PadRight(part.Length + ((4 - (part.Length % 4)) % 4), '=');
        return JsonDocument.Parse(Convert.FromBase64String(part)).RootElement.Clone();
    }
}
