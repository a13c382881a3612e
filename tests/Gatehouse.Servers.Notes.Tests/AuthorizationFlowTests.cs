using System.Net;
using Gatehouse.Servers.Notes.Tests.Infrastructure;

namespace Gatehouse.Servers.Notes.Tests;

/// <summary>
/// The authorization code flow with PKCE, headless: a browser that posts the sign-in and consent forms, a client
/// that redeems the code. And every way it must refuse.
/// </summary>
public sealed class AuthorizationFlowTests : IAsyncLifetime
{
    private NotesTestServer _server = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _server = await NotesTestServer.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task CodeFlow_SignInConsentAndRedeem_IssuesAnEs256AccessTokenForTheMcpEndpoint()
    {
        var client = await OAuthClient.RegisterAsync(_server);
        using var browser = _server.NewBrowser();
        var request = client.NewRequest();

        // Not signed in: sent to the sign-in page, which comes back to this very request.
        using var first = await browser.GetAsync(request.Url);
        Assert.Equal(HttpStatusCode.Redirect, first.StatusCode);
        var signIn = first.Headers.Location!.OriginalString;
        Assert.StartsWith("/signin?return_url=", signIn, StringComparison.Ordinal);
        var returnUrl = Uri.UnescapeDataString(signIn["/signin?return_url=".Length..]);
        using var signedIn = await browser.TrySignInAsync("alice@example.com", NotesTestServer.AlicePassword, returnUrl);
        Assert.Equal(returnUrl, signedIn.Headers.Location!.OriginalString);

        var response = await browser.AuthorizeAsync(returnUrl);

        Assert.Equal(client.RedirectUri, response.Location.GetLeftPart(UriPartial.Path));
        Assert.Equal(request.State, response.State);
        Assert.Equal(_server.Issuer, response.Iss);
        var tokens = await client.RedeemAsync(response.Code!, request.Verifier);
        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        Assert.NotNull(tokens.RefreshToken);
        var jwt = tokens.Jwt;
        Assert.Equal("ES256", jwt.Alg);
        Assert.Equal("at+jwt", jwt.Typ);
        Assert.Equal(_server.Keys.SigningKey.KeyId, jwt.Kid);
        Assert.Equal(_server.Issuer, jwt.Issuer);
        Assert.Equal([_server.McpUrl], jwt.Audiences);
        Assert.Equal("alice@example.com", jwt.Subject);
        Assert.Equal(client.ClientId, jwt.GetClaim("client_id").Value);
        Assert.Equal(["notes:read", "notes:write", "offline_access"], jwt.GetClaim("scope").Value.Split(' ').Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ConsentPage_Shown_NamesClientAndScopesAndCannotBeFramed()
    {
        var client = await OAuthClient.RegisterAsync(_server);
        using var browser = _server.NewBrowser();
        await browser.SignInAsync("alice@example.com", NotesTestServer.AlicePassword);

        using var page = await browser.GetAsync(client.NewRequest().Url);
        var html = await page.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Test client", html, StringComparison.Ordinal);
        Assert.Contains("notes:write", html, StringComparison.Ordinal);
        Assert.Contains("127.0.0.1:47011", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("no-store", page.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task Consent_PostedWithoutAntiforgeryToken_RefusedAndNoCode()
    {
        var client = await OAuthClient.RegisterAsync(_server);
        using var browser = _server.NewBrowser();
        await browser.SignInAsync("alice@example.com", NotesTestServer.AlicePassword);
        using var page = await browser.GetAsync(client.NewRequest().Url);
        var fields = Browser.HiddenInputs(await page.Content.ReadAsStringAsync(Ct)).Where(f => f.Key != "csrf_token").ToList();
        fields.Add(new("consent_decision", "allow"));

        using var forged = await browser.PostFormAsync("/authorize", fields);

        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Null(forged.Headers.Location);
    }

    [Fact]
    public async Task Consent_Given_RememberedForTheSameClientAndScopes()
    {
        var client = await OAuthClient.RegisterAsync(_server);
        using var browser = _server.NewBrowser();
        await browser.SignInAsync("alice@example.com", NotesTestServer.AlicePassword);
        await browser.AuthorizeAsync(client.NewRequest().Url);

        using var again = await browser.GetAsync(client.NewRequest().Url);
        using var wider = await browser.GetAsync(client.NewRequest(scope: "notes:read notes:write email").Url);
        using var prompted = await browser.GetAsync(client.NewRequest(extra: [new("prompt", "consent")]).Url);

        Assert.Equal(HttpStatusCode.Redirect, again.StatusCode);
        Assert.NotNull(AuthorizationResponse.From(again).Code);
        Assert.Equal(HttpStatusCode.OK, wider.StatusCode);
        Assert.Equal(HttpStatusCode.OK, prompted.StatusCode);
    }

    [Fact]
    public async Task Consent_Denied_ClientGetsAccessDenied()
    {
        var client = await OAuthClient.RegisterAsync(_server);
        using var browser = _server.NewBrowser();
        await browser.SignInAsync("bob@example.com", NotesTestServer.BobPassword);
        var request = client.NewRequest();

        var response = await browser.AuthorizeAsync(request.Url, decision: "deny");

        Assert.Equal("access_denied", response.Error);
        Assert.Equal(request.State, response.State);
        Assert.Null(response.Code);
    }

    [Fact]
    public async Task SignIn_WrongPassword_RefusedWithTheFormAgain()
    {
        using var browser = _server.NewBrowser();

        using var response = await browser.TrySignInAsync("alice@example.com", NotesTestServer.BobPassword);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("Wrong email or password", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://evil.example.com/")]
    [InlineData("//evil.example.com/")]
    [InlineData("/\\evil.example.com/")]
    public async Task SignIn_ReturnUrlToAnotherSite_GoesHomeInstead(string returnUrl)
    {
        using var browser = _server.NewBrowser();

        using var response = await browser.TrySignInAsync("alice@example.com", NotesTestServer.AlicePassword, returnUrl);

        Assert.Equal("/", response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Token_WrongPkceVerifier_InvalidGrant()
    {
        var client = await OAuthClient.RegisterAsync(_server);
        var (request, code) = await AuthorizeAsAliceAsync(client);

        var tokens = await client.RedeemAsync(code, request.Verifier + "x");

        Assert.Equal(HttpStatusCode.BadRequest, tokens.Status);
        Assert.Equal("invalid_grant", tokens.Error);
    }

    [Fact]
    public async Task Token_CodeReplayed_RefusedAndTheFirstTokensRevoked()
    {
        var client = await OAuthClient.RegisterAsync(_server);
        var (request, code) = await AuthorizeAsAliceAsync(client);
        var first = await client.RedeemAsync(code, request.Verifier);
        using (var before = await _server.PostMcpAsync(Ping, first.AccessToken))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        var replay = await client.RedeemAsync(code, request.Verifier);

        Assert.Equal("invalid_grant", replay.Error);
        // OAuth 2.1 §4.1.3: a replayed code revokes what it was exchanged for.
        using var after = await _server.PostMcpAsync(Ping, first.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Equal("invalid_grant", (await client.RefreshAsync(first.RefreshToken!)).Error);
    }

    [Fact]
    public async Task Token_RedirectUriDiffersFromTheAuthorizationRequest_InvalidGrant()
    {
        var client = await OAuthClient.RegisterAsync(_server);
        var (request, code) = await AuthorizeAsAliceAsync(client);

        var tokens = await client.RedeemAsync(code, request.Verifier, redirect: "http://127.0.0.1:47011/other");

        Assert.Equal("invalid_grant", tokens.Error);
    }

    [Fact]
    public async Task Authorize_UnregisteredRedirectUri_ErrorPageAndNoRedirect()
    {
        var client = await OAuthClient.RegisterAsync(_server);
        using var browser = _server.NewBrowser();
        await browser.SignInAsync("alice@example.com", NotesTestServer.AlicePassword);

        using var response = await browser.GetAsync(client.NewRequest(redirect: "https://evil.example.com/callback").Url);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Contains("redirect_uri", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorize_LoopbackRedirectOnAnotherPort_Accepted()
    {
        // RFC 8252 §7.3: a native app listens on whichever port is free when it starts.
        var client = await OAuthClient.RegisterAsync(_server, redirectUri: "http://127.0.0.1/callback");
        using var browser = _server.NewBrowser();
        await browser.SignInAsync("alice@example.com", NotesTestServer.AlicePassword);
        var request = client.NewRequest(redirect: "http://127.0.0.1:53219/callback");

        var response = await browser.AuthorizeAsync(request.Url);

        Assert.Equal("http://127.0.0.1:53219/callback", response.Location.GetLeftPart(UriPartial.Path));
        Assert.NotNull(response.Code);
    }

    [Theory]
    [InlineData("plain")]
    [InlineData(null)]
    public async Task Authorize_PkcePlainOrMissing_Refused(string? method)
    {
        var client = await OAuthClient.RegisterAsync(_server);
        using var browser = _server.NewBrowser();
        await browser.SignInAsync("alice@example.com", NotesTestServer.AlicePassword);
        var url = client.NewRequest(challengeMethod: method ?? "S256").Url;
        if (method is null)
        {
            url = string.Join('&', url.Split('&').Where(p => !p.StartsWith("code_challenge", StringComparison.Ordinal)));
        }

        using var response = await browser.GetAsync(url);

        // OpenIddict checks the PKCE parameters before it has matched the redirect URI against the client's, so the
        // error is shown to the user rather than redirected (OAuth 2.1 §4.1.2.1: never redirect to an unverified URI).
        // Either way no code is issued.
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Contains("invalid_request", body, StringComparison.Ordinal);
        Assert.Contains("code_challenge", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{0}/mcp/")]
    [InlineData("HTTP://127.0.0.1:{1}/mcp")]
    [InlineData(null)]
    public async Task Authorize_McpResourceInAnyCanonicalForm_TokenAudienceIsTheCanonicalUrl(string? resourceFormat)
    {
        var client = await OAuthClient.RegisterAsync(_server);
        var resource = resourceFormat is null ? null : string.Format(System.Globalization.CultureInfo.InvariantCulture, resourceFormat, _server.Origin, new Uri(_server.Origin).Port);
        var (request, code) = await AuthorizeAsAliceAsync(client, resource);

        var tokens = await client.RedeemAsync(code, request.Verifier);

        Assert.Equal([_server.McpUrl], tokens.Jwt.Audiences);
    }

    [Theory]
    [InlineData("https://other.example.com/mcp")]
    [InlineData("{0}/")]
    [InlineData("{0}/mcp/more")]
    public async Task Authorize_ResourceThatIsNotTheMcpEndpoint_InvalidTargetSentToTheClient(string resourceFormat)
    {
        var client = await OAuthClient.RegisterAsync(_server);
        using var browser = _server.NewBrowser();
        await browser.SignInAsync("alice@example.com", NotesTestServer.AlicePassword);
        var request = client.NewRequest(resource: string.Format(System.Globalization.CultureInfo.InvariantCulture, resourceFormat, _server.Origin));

        var response = await browser.AuthorizeAsync(request.Url);

        Assert.Equal("invalid_target", response.Error);
        Assert.Equal(request.State, response.State);
    }

    [Fact]
    public async Task Token_ResourceThatIsNotTheMcpEndpoint_InvalidTarget()
    {
        var client = await OAuthClient.RegisterAsync(_server);
        var (request, code) = await AuthorizeAsAliceAsync(client);

        var tokens = await client.RedeemAsync(code, request.Verifier, resource: "https://other.example.com/mcp");

        Assert.Equal("invalid_target", tokens.Error);
    }

    [Fact]
    public async Task Authorize_AutoApproveMode_ImmediateRedirectWithCodeStateAndIss()
    {
        await using var server = await NotesTestServer.StartAsync(o => o with { AutoApproveUser = "bob@example.com" });
        var client = await OAuthClient.RegisterAsync(server);
        var request = client.NewRequest();

        // No cookie, no form: the first response is the redirect to the client, as the conformance suite's AS does.
        using var response = await server.Http.GetAsync(request.Url, Ct);
        var redirect = AuthorizationResponse.From(response);

        Assert.Equal(request.State, redirect.State);
        Assert.Equal(server.Issuer, redirect.Iss);
        var tokens = await client.RedeemAsync(redirect.Code!, request.Verifier);
        Assert.Equal("bob@example.com", tokens.Jwt.Subject);
    }

    private const string Ping = """{"jsonrpc":"2.0","id":1,"method":"ping"}""";

    private async Task<(AuthorizationRequest Request, string Code)> AuthorizeAsAliceAsync(OAuthClient client, string? resource = "")
    {
        using var browser = _server.NewBrowser();
        await browser.SignInAsync("alice@example.com", NotesTestServer.AlicePassword);
        var request = client.NewRequest(resource: resource);
        var response = await browser.AuthorizeAsync(request.Url);
        Assert.NotNull(response.Code);
        return (request, response.Code!);
    }
}
