using System.Net;
using Gatehouse.Revocation;
using Gatehouse.SignIn;
using Gatehouse.SignIn.Oidc;
using Gatehouse.Storage;
using Gatehouse.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.SignIn;

/// <summary>
/// <c>idp.provider: oidc</c> against a real OpenID Connect provider (panva's oidc-provider under Node 22, see
/// oidc-provider.mjs), through its development login and consent pages, over real Kestrel and a real database; run
/// once per storage provider (<see cref="SqliteOidcSignInTests"/>, <see cref="PostgresOidcSignInTests"/>).
/// </summary>
public abstract partial class OidcSignInTests
{
    private const string CallbackPath = "/.gatehouse/oidc/callback";

    private const string Routes = SignInTests.Routes;

    /// <summary>An MCP server route, so the authorization server has a resource to grant (its upstream is never called).</summary>
    private const string McpRoute = """

          - name: tools
            from: http://127.0.0.1
            prefix: /tools
            to: http://127.0.0.1:9
            mcp:
              server: {}
        """;

    private static readonly OidcTestAccount s_alice = new("alice-0001", "Alice Liddell", "Alice@Example.com", """["sales","engineering"]""");

    /// <summary>The refresher's own loop never runs: tests drive each pass (<see cref="RefreshPassAsync"/>).</summary>
    private static readonly IdpRefreshSchedule s_manual = new() { Interval = TimeSpan.FromDays(1), RefreshAhead = TimeSpan.Zero };

    /// <summary>Manual passes, and every session is due at once.</summary>
    private static readonly IdpRefreshSchedule s_manualAlwaysDue = s_manual with { RefreshAhead = TimeSpan.FromDays(1) };

    /// <summary>The refresher's loop, fast: a session is refreshed as soon as its provider access token has expired.</summary>
    private static readonly IdpRefreshSchedule s_fast = new() { Interval = TimeSpan.FromMilliseconds(200), RefreshAhead = TimeSpan.Zero };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private protected abstract Task<TestStorage> CreateStorageAsync();

    [Fact]
    public async Task SignIn_ThroughProvider_SessionWithClaimsGroupsAndProtectedRefreshToken()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice);
        await using var gateway = await StartGatewayAsync(storage, provider, "authorization_url_params: {ui_locales: de-CH}");
        using var browser = new HeadlessBrowser();

        using var start = await browser.GetAsync(new Uri(gateway.BaseUri, "/.gatehouse/sign_in?redirect_uri=" + Uri.EscapeDataString("/app/page?x=1")));
        Assert.Equal(HttpStatusCode.Redirect, start.StatusCode);
        var authorize = HeadlessBrowser.NextLocation(start);
        Assert.Equal(new Uri(provider.Issuer, "/auth").AbsoluteUri, authorize.GetLeftPart(UriPartial.Path));
        // The provider offers pushed authorization requests (RFC 9126), so the parameters went there, not in the URL.
        var query = System.Web.HttpUtility.ParseQueryString(authorize.Query);
        Assert.NotNull(query["request_uri"]);
        Assert.Null(query["code_challenge"]);
        Assert.Equal(provider.Options.ClientId, query["client_id"]);

        // oidc-provider's development login page lists the authorization request's parameters.
        using var loginPage = await browser.FollowAsync(await browser.GetAsync(authorize));
        var parameters = DebugParameter().Matches(await loginPage.Content.ReadAsStringAsync(Ct))
            .ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        Assert.Equal("code", parameters["response_type"]);
        Assert.Equal("S256", parameters["code_challenge_method"]);
        Assert.Equal(new Uri(gateway.BaseUri, CallbackPath).AbsoluteUri, parameters["redirect_uri"]);
        Assert.Equal("de-CH", parameters["ui_locales"]);
        Assert.Contains("openid", parameters["scope"].Split(' '));
        using var back = await CompleteAtProviderAsync(browser, gateway, provider, loginPage);

        await AssertRedirectAsync(back, "/app/page?x=1", gateway);
        var setCookie = Assert.Single(back.Headers.GetValues("Set-Cookie"), c => c.StartsWith("__Host-gatehouse_session=", StringComparison.Ordinal)).ToLowerInvariant();
        Assert.Contains("; secure", setCookie, StringComparison.Ordinal);
        Assert.Contains("; httponly", setCookie, StringComparison.Ordinal);
        Assert.Contains("; samesite=lax", setCookie, StringComparison.Ordinal);
        var cookie = browser.Cookie(gateway.BaseUri, SessionStore.CookieName)!;

        var user = await gateway.Services.GetRequiredService<ISessionUserAccessor>().ResolveAsync(cookie, Ct);
        Assert.NotNull(user);
        Assert.Equal("alice@example.com", user.Email);
        Assert.Equal("Alice Liddell", user.Name);
        Assert.Equal(["sales", "engineering"], user.Groups);
        Assert.Equal("alice-0001", user.Subject);

        var row = await SingleSessionAsync(gateway);
        Assert.NotNull(row.ProtectedIdpRefreshToken);
        var refreshToken = Unprotect(gateway, row);
        Assert.NotEqual(refreshToken, row.ProtectedIdpRefreshToken);
        Assert.DoesNotContain(refreshToken, row.ProtectedIdpRefreshToken, StringComparison.Ordinal);
        Assert.True(await provider.IsActiveAsync(refreshToken), "the stored token is the provider's live refresh token");
        Assert.Equal(row.ExpiresAt.ToUnixTimeMilliseconds(), row.IdpCheckUntil?.ToUnixTimeMilliseconds());
        Assert.NotNull(row.IdpAccessTokenExpiresAt);
        Assert.Null(row.IdpRefreshLeaseUntil);
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Message.Contains(refreshToken, StringComparison.Ordinal) ||
            e.Message.Contains(provider.Options.ClientSecret!, StringComparison.Ordinal) || e.Message.Contains(cookie, StringComparison.Ordinal) ||
            // No ID token either.
            TokenShapes.Jwt().IsMatch(e.Message));
        Assert.Contains(gateway.Logs.Entries, e => e.EventId == 4010 && e.Message.Contains("alice@example.com", StringComparison.Ordinal));
        AssertNoSignInErrors(gateway);
    }

    [Fact]
    public async Task SignOut_OidcSession_EndsTheProviderSessionTooSoTheNextSignInAsksForCredentials()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice);
        await using var gateway = await StartGatewayAsync(storage, provider);
        using var browser = new HeadlessBrowser();
        using (var first = await SignInAsync(browser, gateway, provider))
        {
            await AssertRedirectAsync(first, "/app", gateway);
        }

        var row = await SingleSessionAsync(gateway);
        Assert.NotNull(row.ProtectedIdpIdToken);
        Assert.False(TokenShapes.Jwt().IsMatch(row.ProtectedIdpIdToken), "the ID token is stored protected");

        // The control: while the provider's session lasts, signing in again passes through it without a login page.
        using (var again = await browser.GetAsync(new Uri(gateway.BaseUri, "/.gatehouse/sign_in?redirect_uri=/app")))
        using (var back = await browser.FollowAsync(again, StaysAwayFromGatewayPages(gateway)))
        {
            await AssertRedirectAsync(back, "/app", gateway);
        }

        using var signOutPage = await browser.GetAsync(new Uri(gateway.BaseUri, "/.gatehouse/sign_out"));
        using var toProvider = await browser.SubmitFormAsync(signOutPage, []);
        Assert.True(toProvider.StatusCode == HttpStatusCode.Redirect, $"sign-out answered {toProvider.StatusCode}: {await toProvider.Content.ReadAsStringAsync(Ct)}");
        var endSession = HeadlessBrowser.NextLocation(toProvider);
        Assert.Equal(provider.Issuer.Authority, endSession.Authority);
        var query = System.Web.HttpUtility.ParseQueryString(endSession.Query);
        Assert.True(TokenShapes.Jwt().IsMatch(query["id_token_hint"] ?? ""), "id_token_hint is the ID token of the sign-in");
        Assert.Equal(new Uri(gateway.BaseUri, OidcSignIn.SignedOutPath).AbsoluteUri, query["post_logout_redirect_uri"]);
        Assert.False(string.IsNullOrEmpty(query["state"]));
        Assert.All(await AllSessionsAsync(gateway), s => Assert.NotNull(s.RevokedAt));

        // The provider asks to confirm (its development page), signs the user out and sends the browser back.
        using var confirm = await browser.FollowAsync(await browser.GetAsync(endSession));
        using var signedOut = await browser.FollowAsync(await browser.SubmitFormAsync(confirm, new() { ["logout"] = "yes" }));
        var html = await signedOut.Content.ReadAsStringAsync(Ct);
        Assert.True(signedOut.StatusCode == HttpStatusCode.OK, $"{signedOut.StatusCode}: {html}");
        Assert.Equal(OidcSignIn.SignedOutPath, signedOut.RequestMessage!.RequestUri!.AbsolutePath);
        Assert.Contains("signed out of Gatehouse and of your identity provider", html, StringComparison.Ordinal);

        // The provider's session is gone: the next sign-in shows its login page.
        using var start = await browser.GetAsync(new Uri(gateway.BaseUri, "/.gatehouse/sign_in?redirect_uri=/app"));
        using var login = await browser.FollowAsync(start);
        Assert.Contains("name=\"login\"", await login.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Logs.Entries, e => TokenShapes.Jwt().IsMatch(e.Message));
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.EventId == 4015);
        AssertNoSignInErrors(gateway);
    }

    [Fact]
    public async Task SignedOut_WithoutAValidState_SaysOnlyGatehouseSignedOut()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice);
        await using var gateway = await StartGatewayAsync(storage, provider);
        using var browser = new HeadlessBrowser();

        using var page = await browser.GetAsync(new Uri(gateway.BaseUri, OidcSignIn.SignedOutPath + "?state=forged"));
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("You are signed out of Gatehouse.", html, StringComparison.Ordinal);
        Assert.DoesNotContain("identity provider", html, StringComparison.Ordinal);
        Assert.Contains(gateway.Logs.Entries, e => e.EventId == 4015);
        AssertNoUnhandledExceptions(gateway);
    }

    [Fact]
    public async Task SignIn_CustomGroupsClaimAsSingleStringInIdToken_GroupsFromThatClaim()
    {
        await using var storage = await CreateStorageAsync();
        var account = s_alice with { GroupsJson = "\"admins\"" };
        await using var provider = await OidcTestProvider.StartAsync(account, new OidcTestProviderOptions { GroupsClaim = "gatehouse_roles", ClaimsInIdToken = true });
        await using var gateway = await StartGatewayAsync(storage, provider, "groups_claim: gatehouse_roles");
        using var browser = new HeadlessBrowser();

        using var back = await SignInAsync(browser, gateway, provider);

        Assert.Equal(HttpStatusCode.Redirect, back.StatusCode);
        var row = await SingleSessionAsync(gateway);
        Assert.Equal(["admins"], row.Groups);
    }

    [Fact]
    public async Task SignIn_PublicClientWithoutSecret_SignsInWithPkceOnly()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice, new OidcTestProviderOptions { ClientSecret = null });
        await using var gateway = await StartGatewayAsync(storage, provider);
        using var browser = new HeadlessBrowser();

        using var back = await SignInAsync(browser, gateway, provider);

        Assert.Equal(HttpStatusCode.Redirect, back.StatusCode);
        Assert.Equal("alice@example.com", (await SingleSessionAsync(gateway)).Email);
    }

    [Theory]
    [InlineData("//evil.example/x")]
    [InlineData("https://evil.example/")]
    [InlineData("/\\evil.example")]
    public async Task SignIn_OpenRedirectAttempt_EndsOnDefaultPage(string redirect)
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice);
        await using var gateway = await StartGatewayAsync(storage, provider);
        using var browser = new HeadlessBrowser();

        using var back = await SignInAsync(browser, gateway, provider, redirect);

        Assert.Equal(HttpStatusCode.Redirect, back.StatusCode);
        Assert.Equal("/", back.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task SignIn_ProviderSendsNoEmail_ErrorPageAndNoSession()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice with { Email = null });
        await using var gateway = await StartGatewayAsync(storage, provider);
        using var browser = new HeadlessBrowser();

        using var back = await SignInAsync(browser, gateway, provider);

        await AssertErrorPageAsync(back, HttpStatusCode.BadRequest, "did not share your email address");
        Assert.Null(browser.Cookie(gateway.BaseUri, SessionStore.CookieName));
        Assert.Equal(0, await SessionCountAsync(gateway));
    }

    [Fact]
    public async Task SignIn_EmailVerifiedFalse_ErrorPageAndNoSession()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice with { EmailVerified = false });
        await using var gateway = await StartGatewayAsync(storage, provider);
        using var browser = new HeadlessBrowser();

        using var back = await SignInAsync(browser, gateway, provider);

        await AssertErrorPageAsync(back, HttpStatusCode.BadRequest, "not verified");
        Assert.Equal(0, await SessionCountAsync(gateway));
    }

    [Fact]
    public async Task SignIn_UserDeniesConsent_ErrorPageAndNoSession()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice);
        await using var gateway = await StartGatewayAsync(storage, provider);
        using var browser = new HeadlessBrowser();

        using var start = await browser.GetAsync(new Uri(gateway.BaseUri, "/.gatehouse/sign_in?redirect_uri=/app"));
        using var login = await browser.FollowAsync(start);
        using var consent = await browser.FollowAsync(await browser.SubmitFormAsync(login, new() { ["login"] = s_alice.Subject, ["password"] = "any" }));
        Assert.Contains("prompt\" value=\"consent\"", await consent.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        // The development consent page's "Cancel": the provider answers error=access_denied (RFC 6749 §4.1.2.1).
        using var aborted = await browser.FollowAsync(await browser.GetAsync(new Uri(consent.RequestMessage!.RequestUri!.AbsoluteUri + "/abort")), StaysAwayFromGatewayPages(gateway));

        Assert.Equal(CallbackPath, aborted.RequestMessage!.RequestUri!.AbsolutePath);
        Assert.Contains("error=access_denied", aborted.RequestMessage.RequestUri.Query, StringComparison.Ordinal);
        await AssertErrorPageAsync(aborted, HttpStatusCode.BadRequest, "access was denied");
        Assert.Null(browser.Cookie(gateway.BaseUri, SessionStore.CookieName));
        Assert.Equal(0, await SessionCountAsync(gateway));
        Assert.Contains(gateway.Logs.Entries, e => e.EventId == 4011 && e.Message.Contains("access_denied", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Callback_TamperedStateMissingCorrelationCookieOrReplay_Refused()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice);
        await using var gateway = await StartGatewayAsync(storage, provider);
        using var browser = new HeadlessBrowser();

        var callback = await UpToCallbackAsync(browser, gateway);
        var state = System.Web.HttpUtility.ParseQueryString(callback.Query)["state"]!;

        // A state changed in one character: no such sign-in.
        var middle = state.Length / 2;
        var tampered = state[..middle] + (state[middle] == 'A' ? 'B' : 'A') + state[(middle + 1)..];
        using (var response = await browser.GetAsync(new Uri(callback.AbsoluteUri.Replace(state, tampered, StringComparison.Ordinal))))
        {
            await AssertErrorPageAsync(response, HttpStatusCode.BadRequest, "could not be completed");
        }

        // The genuine answer in the browser that started: signed in, once; the same answer again is refused.
        using (var response = await browser.GetAsync(callback))
        {
            await AssertRedirectAsync(response, "/app", gateway);
        }

        using (var replay = await browser.GetAsync(callback))
        {
            await AssertErrorPageAsync(replay, HttpStatusCode.BadRequest, "could not be completed");
        }

        Assert.Equal(1, await SessionCountAsync(gateway));

        // A genuine answer delivered to another browser (login CSRF, or a stolen redirect): no correlation cookie, no
        // session. OpenIddict spends the state on the attempt, so the original browser cannot use it any more either.
        using var attacker = new HeadlessBrowser();
        using var victim = new HeadlessBrowser();
        var stolen = await UpToCallbackAsync(attacker, gateway);
        using (var response = await victim.GetAsync(stolen))
        {
            await AssertErrorPageAsync(response, HttpStatusCode.BadRequest, "could not be completed");
            Assert.Null(victim.Cookie(gateway.BaseUri, SessionStore.CookieName));
        }

        Assert.Equal(1, await SessionCountAsync(gateway));
    }

    [Fact]
    public async Task SignIn_ProviderUnreachable_502PageAtCallbackAndAtSignIn()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice);
        await using var gateway = await StartGatewayAsync(storage, provider);
        using var browser = new HeadlessBrowser();
        var callback = await UpToCallbackAsync(browser, gateway);

        // The code cannot be redeemed: the provider went away between the login and the callback.
        await provider.DisposeAsync();
        using (var response = await browser.GetAsync(callback))
        {
            await AssertErrorPageAsync(response, HttpStatusCode.BadGateway, "cannot be reached");
        }

        using (var response = await browser.GetAsync(new Uri(gateway.BaseUri, "/.gatehouse/sign_in?redirect_uri=/app")))
        {
            await AssertErrorPageAsync(response, HttpStatusCode.BadGateway, "cannot be reached");
        }

        Assert.Equal(0, await SessionCountAsync(gateway));
        Assert.Contains(gateway.Logs.Entries, e => e.EventId == 4013);
        AssertNoUnhandledExceptions(gateway);
    }

    [Fact]
    public async Task SignIn_ProviderDownFromTheStart_502Page()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice);
        await using var gateway = await StartGatewayAsync(storage, provider);
        await provider.DisposeAsync();
        using var browser = new HeadlessBrowser();

        // No discovery document yet: nothing is cached.
        using var response = await browser.GetAsync(new Uri(gateway.BaseUri, "/.gatehouse/sign_in?redirect_uri=/app"));

        await AssertErrorPageAsync(response, HttpStatusCode.BadGateway, "cannot be reached");
        AssertNoUnhandledExceptions(gateway);
    }

    [Fact]
    public async Task Refresher_AccessTokenExpired_StoresRotatedRefreshTokenTwiceAndSessionStaysValid()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice, new OidcTestProviderOptions { AccessTokenSeconds = 1 });
        await using var gateway = await StartGatewayAsync(storage, provider, schedule: s_manual);
        using var browser = new HeadlessBrowser();
        using var back = await SignInAsync(browser, gateway, provider);
        var cookie = browser.Cookie(gateway.BaseUri, SessionStore.CookieName)!;
        var initial = await SingleSessionAsync(gateway);
        var first = Unprotect(gateway, initial);

        var afterFirst = await RefreshUntilTokenChangesAsync(gateway, initial);
        var second = Unprotect(gateway, afterFirst);
        Assert.NotEqual(first, second);
        Assert.True(await provider.IsActiveAsync(second), "the rotated token is the provider's live one");
        Assert.False(await provider.IsActiveAsync(first), "the provider spent the old token");
        Assert.True(afterFirst.IdpAccessTokenExpiresAt > initial.IdpAccessTokenExpiresAt);
        Assert.Null(afterFirst.IdpRefreshLeaseUntil);

        // The second refresh uses the token the first one stored: had the old one been kept, the provider would see a
        // spent token come back, revoke the grant (reuse detection) and the session would end.
        var afterSecond = await RefreshUntilTokenChangesAsync(gateway, afterFirst);
        var third = Unprotect(gateway, afterSecond);
        Assert.True(await provider.IsActiveAsync(third));
        Assert.False(await provider.IsActiveAsync(second));
        Assert.Null(afterSecond.RevokedAt);
        Assert.Equal(["sales", "engineering"], afterSecond.Groups);
        Assert.NotNull(await gateway.Services.GetRequiredService<ISessionUserAccessor>().ResolveAsync(cookie, Ct));
        Assert.DoesNotContain(gateway.Logs.Entries, e => new[] { first, second, third }.Any(t => e.Message.Contains(t, StringComparison.Ordinal)));
        AssertNoSignInErrors(gateway);
    }

    [Fact]
    public async Task Refresher_GrantRevokedAtProvider_SessionRevoked()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice, new OidcTestProviderOptions { AccessTokenSeconds = 1 });
        // The refresher's own loop this time.
        await using var gateway = await StartGatewayAsync(storage, provider, schedule: s_fast);
        using var browser = new HeadlessBrowser();
        using var back = await SignInAsync(browser, gateway, provider);
        var cookie = browser.Cookie(gateway.BaseUri, SessionStore.CookieName)!;
        var session = await SingleSessionAsync(gateway);

        // Revoking any refresh token of the grant revokes the whole grant at oidc-provider, so it does not matter
        // whether the refresher has rotated this one meanwhile.
        await provider.RevokeAsync(Unprotect(gateway, session));

        var revoked = await WaitForSessionAsync(gateway, s => s.RevokedAt is not null);
        // Logged once the session and the revocation list entry are both written.
        await gateway.Logs.WaitForAsync(e => e.EventId == 4021 && e.Message.Contains("alice@example.com", StringComparison.Ordinal));
        Assert.True(gateway.Services.GetRequiredService<RevocationList>().IsSessionRevoked(revoked.Id), "MCP grants made from the session are revoked too");
        Assert.Null(await gateway.Services.GetRequiredService<ISessionUserAccessor>().ResolveAsync(cookie, Ct));
    }

    [Fact]
    public async Task Refresher_ProviderDownThenBackWithoutGrants_SessionKeptThenRevoked()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice);
        await using var gateway = await StartGatewayAsync(storage, provider, schedule: s_manualAlwaysDue);
        using var browser = new HeadlessBrowser();
        using (var back = await SignInAsync(browser, gateway, provider))
        {
            Assert.Equal(HttpStatusCode.Redirect, back.StatusCode);
        }

        var port = provider.Port;
        var before = await SingleSessionAsync(gateway);
        await provider.DisposeAsync();

        // Unreachable: nothing changes, the lease is let go so each pass retries, and the warning is logged once.
        for (var pass = 0; pass < 3; pass++)
        {
            await RefreshPassAsync(gateway);
        }

        var kept = await SingleSessionAsync(gateway);
        Assert.Null(kept.RevokedAt);
        Assert.Equal(before.ProtectedIdpRefreshToken, kept.ProtectedIdpRefreshToken);
        Assert.Null(kept.IdpRefreshLeaseUntil);
        Assert.Single(gateway.Logs.Entries, e => e.EventId == 4022);

        // Back on the same address, but it has forgotten every grant (its store is in memory): invalid_grant.
        await using var restarted = await OidcTestProvider.StartAsync(s_alice, provider.Options, port);
        await restarted.ServeAsync(new Uri(gateway.BaseUri, CallbackPath));
        await RefreshPassAsync(gateway);

        Assert.NotNull((await SingleSessionAsync(gateway)).RevokedAt);
        Assert.Contains(gateway.Logs.Entries, e => e.EventId == 4021);
    }

    [Fact]
    public async Task SignIn_ReloadFromBuiltinToOidc_SignsInThroughProviderWithoutRestart()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice);
        var builtin = $"""
            idp:
              provider: builtin
              users:
                - email: bob@example.com
                  password_hash: {Gatehouse.Cli.UsersCommand.HashPassword("not used here")}
            """;
        await using var gateway = await TestGateway.StartAsync(Routes, storage.Yaml + "\n" + builtin, services => services.AddSingleton(s_manual));
        await provider.ServeAsync(new Uri(gateway.BaseUri, CallbackPath));
        using var browser = new HeadlessBrowser();
        using (var form = await browser.GetAsync(new Uri(gateway.BaseUri, "/.gatehouse/sign_in")))
        {
            Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        }

        await File.WriteAllTextAsync(gateway.ConfigPath, TestGateway.Compose(Routes, storage.Yaml + "\n" + IdpYaml(provider)), Ct);
        await gateway.Logs.WaitForAsync(e => e.EventId == 100);
        using var back = await SignInAsync(browser, gateway, provider);

        await AssertRedirectAsync(back, "/app", gateway);
        Assert.Equal("alice-0001", (await SingleSessionAsync(gateway)).Subject);
    }

    [Fact]
    public async Task McpAuthorization_FromOidcSession_ProviderChecksLastAsLongAsTheGrant()
    {
        await using var storage = await CreateStorageAsync();
        await using var provider = await OidcTestProvider.StartAsync(s_alice);
        const string Client = """
            clients:
              - client_id: test-mcp-client
                name: Test MCP client
                redirect_uris: [http://127.0.0.1:5555/callback]
            """;
        await using var gateway = await StartGatewayAsync(storage, provider, routes: Routes + McpRoute, extraTopLevelYaml: Client);
        using var browser = new HeadlessBrowser();
        using (var back = await SignInAsync(browser, gateway, provider))
        {
            await AssertRedirectAsync(back, "/app", gateway);
        }

        var before = await SingleSessionAsync(gateway);

        // An MCP client's authorization request (OAuth 2.1 with PKCE, RFC 8707 resource), approved on the consent page.
        var verifier = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var challenge = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(verifier)));
        var resource = new Uri(gateway.BaseUri, "/tools").AbsoluteUri.TrimEnd('/');
        var authorize = new Uri(gateway.BaseUri, "/.gatehouse/oauth/authorize?response_type=code&client_id=test-mcp-client" +
            "&redirect_uri=" + Uri.EscapeDataString("http://127.0.0.1:5555/callback") + "&code_challenge=" + challenge +
            "&code_challenge_method=S256&state=s1&scope=openid&resource=" + Uri.EscapeDataString(resource));
        using var consent = await browser.GetAsync(authorize);
        Assert.True(consent.StatusCode == HttpStatusCode.OK, await consent.Content.ReadAsStringAsync(Ct));
        using var approved = await browser.SubmitFormAsync(consent, new() { ["gatehouse_consent"] = "allow" });
        Assert.Equal(HttpStatusCode.Redirect, approved.StatusCode);
        var code = System.Web.HttpUtility.ParseQueryString(HeadlessBrowser.NextLocation(approved).Query)["code"];
        Assert.NotNull(code);

        // The grant may outlive the browser session (8 h here, 30 days for the grant): the provider is asked about
        // the user until the grant ends.
        var after = await SingleSessionAsync(gateway);
        Assert.True(after.IdpCheckUntil > before.IdpCheckUntil, "IdpCheckUntil is extended");
        Assert.True(after.IdpCheckUntil > after.ExpiresAt + TimeSpan.FromDays(29));

        using var token = await browser.SendAsync(HttpMethod.Post, new Uri(gateway.BaseUri, "/.gatehouse/oauth/token"), new Dictionary<string, string>
        {
            ["grant_type"] = "authorization_code",
            ["code"] = code,
            ["redirect_uri"] = "http://127.0.0.1:5555/callback",
            ["client_id"] = "test-mcp-client",
            ["code_verifier"] = verifier,
            ["resource"] = resource,
        });
        var json = await token.Content.ReadAsStringAsync(Ct);
        Assert.True(token.StatusCode == HttpStatusCode.OK, json);
        using var tokens = System.Text.Json.JsonDocument.Parse(json);
        var accessToken = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(tokens.RootElement.GetProperty("access_token").GetString());
        Assert.Equal("alice-0001", accessToken.Subject);
        Assert.Equal(before.Id, accessToken.GetClaim("sid").Value);
        Assert.Equal(["sales", "engineering"], accessToken.Claims.Where(c => c.Type == "groups").Select(c => c.Value));
    }

    [Fact]
    public async Task ExtendIdpCheck_OidcSession_ExtendedNeverShortenedBuiltinUntouched()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await TestGateway.StartAsync(Routes, storage.Yaml);
        var sessions = gateway.Services.GetRequiredService<SessionStore>();
        var (_, oidc) = await sessions.CreateAsync("a@example.com", "A", [], TimeSpan.FromHours(1), Ct, s =>
        {
            s.Subject = "a";
            s.IdpCheckUntil = s.ExpiresAt;
        });
        var (_, builtin) = await sessions.CreateAsync("b@example.com", "B", [], TimeSpan.FromHours(1), Ct);

        var later = oidc.ExpiresAt + TimeSpan.FromDays(30);
        await sessions.ExtendIdpCheckAsync(oidc.Id, later, Ct);
        await sessions.ExtendIdpCheckAsync(oidc.Id, oidc.ExpiresAt, Ct);
        await sessions.ExtendIdpCheckAsync(builtin.Id, later, Ct);

        await using var scope = gateway.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        Assert.Equal(later.ToUnixTimeMilliseconds(), (await db.UserSessions.SingleAsync(s => s.Id == oidc.Id, Ct)).IdpCheckUntil?.ToUnixTimeMilliseconds());
        Assert.Null((await db.UserSessions.SingleAsync(s => s.Id == builtin.Id, Ct)).IdpCheckUntil);
    }

    /// <summary>Starts a gateway whose provider is <paramref name="provider"/>, then tells the provider the gateway's callback.</summary>
    private static async Task<TestGateway> StartGatewayAsync(
        TestStorage storage, OidcTestProvider provider, string extraIdpYaml = "", IdpRefreshSchedule? schedule = null, string routes = Routes, string extraTopLevelYaml = "")
    {
        var idp = IdpYaml(provider, extraIdpYaml);
        var gateway = await TestGateway.StartAsync(routes, storage.Yaml + "\n" + extraTopLevelYaml + "\n" + idp,
            services => services.AddSingleton(schedule ?? s_manual));
        try
        {
            await provider.ServeAsync(new Uri(gateway.BaseUri, CallbackPath));
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }

        return gateway;
    }

    private static string IdpYaml(OidcTestProvider provider, string extraIdpYaml = "")
    {
        var secret = provider.Options.ClientSecret is { } s ? $"\n  client_secret: '{s}'" : "";
        var extra = string.IsNullOrEmpty(extraIdpYaml) ? "" : "\n  " + extraIdpYaml;
        return $"""
            idp:
              provider: oidc
              provider_url: {provider.Issuer.AbsoluteUri.TrimEnd('/')}
              client_id: {provider.Options.ClientId}
            """ + secret + extra;
    }

    /// <summary>The whole round trip: the gateway's sign-in page, the provider's login and consent, the callback.</summary>
    private static async Task<HttpResponseMessage> SignInAsync(HeadlessBrowser browser, TestGateway gateway, OidcTestProvider provider, string returnPath = "/app")
    {
        using var start = await browser.GetAsync(new Uri(gateway.BaseUri, "/.gatehouse/sign_in?redirect_uri=" + Uri.EscapeDataString(returnPath)));
        Assert.True(start.StatusCode == HttpStatusCode.Redirect, $"sign-in answered {start.StatusCode}: {await start.Content.ReadAsStringAsync(Ct)}");
        using var login = await browser.FollowAsync(await browser.GetAsync(HeadlessBrowser.NextLocation(start)));
        return await CompleteAtProviderAsync(browser, gateway, provider, login);
    }

    /// <summary>From the provider's login page to the gateway callback's answer (not followed further).</summary>
    private static async Task<HttpResponseMessage> CompleteAtProviderAsync(HeadlessBrowser browser, TestGateway gateway, OidcTestProvider provider, HttpResponseMessage login)
    {
        var loginHtml = await login.Content.ReadAsStringAsync(Ct);
        Assert.True(loginHtml.Contains("name=\"login\"", StringComparison.Ordinal), "expected the provider's login page:\n" + loginHtml + "\n" + provider.Output);
        using var consent = await browser.FollowAsync(await browser.SubmitFormAsync(login, new() { ["login"] = provider.Account.Subject, ["password"] = "any" }));
        return await browser.FollowAsync(await browser.SubmitFormAsync(consent, []), StaysAwayFromGatewayPages(gateway));
    }

    /// <summary>Signs in at the provider and returns where it sends the browser back to (the gateway's callback, not visited).</summary>
    private static async Task<Uri> UpToCallbackAsync(HeadlessBrowser browser, TestGateway gateway)
    {
        using var start = await browser.GetAsync(new Uri(gateway.BaseUri, "/.gatehouse/sign_in?redirect_uri=/app"));
        using var login = await browser.FollowAsync(start);
        using var consent = await browser.FollowAsync(await browser.SubmitFormAsync(login, new() { ["login"] = s_alice.Subject, ["password"] = "any" }));
        using var toCallback = await browser.FollowAsync(await browser.SubmitFormAsync(consent, []), next => next.Authority != gateway.BaseUri.Authority);
        var callback = HeadlessBrowser.NextLocation(toCallback);
        Assert.Equal(CallbackPath, callback.AbsolutePath);
        return callback;
    }

    /// <summary>Follows redirects at the provider and into the gateway's callback, but not beyond it.</summary>
    private static Func<Uri, bool> StaysAwayFromGatewayPages(TestGateway gateway) =>
        next => next.Authority != gateway.BaseUri.Authority || next.AbsolutePath == CallbackPath;

    /// <summary>
    /// No error from Gatehouse or OpenIddict. (EF Core logs one error on a fresh PostgreSQL database, when it probes
    /// for the migrations history table before creating it.)
    /// </summary>
    private static void AssertNoSignInErrors(TestGateway gateway) =>
        Assert.DoesNotContain(gateway.Logs.Errors, e => e.Category.StartsWith("Gatehouse", StringComparison.Ordinal) || e.Category.StartsWith("OpenIddict", StringComparison.Ordinal));

    /// <summary>Nothing reached ASP.NET Core's own "unhandled exception" log: every failure was answered with a page.</summary>
    private static void AssertNoUnhandledExceptions(TestGateway gateway) =>
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal) && e.Level >= LogLevel.Error);

    private static async Task AssertRedirectAsync(HttpResponseMessage response, string location, TestGateway gateway)
    {
        Assert.True(response.StatusCode == HttpStatusCode.Redirect,
            $"expected a redirect to {location}, got {response.StatusCode}:\n{await response.Content.ReadAsStringAsync(Ct)}\n" +
            string.Join('\n', gateway.Logs.Entries.Select(e => $"{e.EventId} {e.Category} {e.Message} {e.Exception}")));
        Assert.Equal(location, response.Headers.Location?.OriginalString);
    }

    private static async Task AssertErrorPageAsync(HttpResponseMessage response, HttpStatusCode status, string text)
    {
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.StatusCode == status, $"expected {status}, got {response.StatusCode}:\n{html}");
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.True(html.Contains(text, StringComparison.Ordinal), $"expected \"{text}\" in:\n{html}");
        Assert.DoesNotContain("Exception", html, StringComparison.Ordinal);
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
    }

    private static Task RefreshPassAsync(TestGateway gateway) =>
        gateway.Services.GetServices<IHostedService>().OfType<IdpSessionRefresher>().Single().RefreshDueAsync(Ct);

    /// <summary>Runs refresher passes until the stored refresh token differs (the provider's access token must expire first).</summary>
    private static async Task<UserSession> RefreshUntilTokenChangesAsync(TestGateway gateway, UserSession before)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        while (true)
        {
            await RefreshPassAsync(gateway);
            var now = await SingleSessionAsync(gateway);
            if (now.ProtectedIdpRefreshToken != before.ProtectedIdpRefreshToken)
            {
                return now;
            }

            Assert.Null(now.RevokedAt);
            await Task.Delay(100, deadline.Token);
        }
    }

    private static async Task<UserSession> WaitForSessionAsync(TestGateway gateway, Func<UserSession, bool> condition)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        while (true)
        {
            var session = await SingleSessionAsync(gateway);
            if (condition(session))
            {
                return session;
            }

            await Task.Delay(100, deadline.Token);
        }
    }

    private static async Task<UserSession> SingleSessionAsync(TestGateway gateway)
    {
        await using var scope = gateway.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        return Assert.Single(await db.UserSessions.AsNoTracking().ToListAsync(Ct));
    }

    private static async Task<List<UserSession>> AllSessionsAsync(TestGateway gateway)
    {
        await using var scope = gateway.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<GatehouseDbContext>().UserSessions.AsNoTracking().ToListAsync(Ct);
    }

    private static async Task<int> SessionCountAsync(TestGateway gateway)
    {
        await using var scope = gateway.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<GatehouseDbContext>().UserSessions.CountAsync(Ct);
    }

    private static string Unprotect(TestGateway gateway, UserSession session) =>
        gateway.Services.GetRequiredService<IdpTokenProtector>().Unprotect(session.ProtectedIdpRefreshToken!);

    /// <summary>One authorization request parameter on oidc-provider's development pages: <c>&lt;strong&gt;name&lt;/strong&gt;: 'value'</c>.</summary>
    [System.Text.RegularExpressions.GeneratedRegex("<strong>([a-z_]+)</strong>: &#39;([^&]*)&#39;")]
    private static partial System.Text.RegularExpressions.Regex DebugParameter();
}

public sealed class SqliteOidcSignInTests : OidcSignInTests
{
    private protected override Task<TestStorage> CreateStorageAsync() => Task.FromResult<TestStorage>(new SqliteTestStorage());
}

public sealed class PostgresOidcSignInTests : OidcSignInTests
{
    private protected override async Task<TestStorage> CreateStorageAsync() => await PostgresTestStorage.CreateAsync();
}
