using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Gatehouse.Authorization;
using Gatehouse.Signing;
using Gatehouse.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Tests.Authorization;

/// <summary>
/// The authorization server and the gateway as resource server, end to end over real Kestrel and SQLite: discovery,
/// the code flow with PKCE and consent, tokens bound to one route, refresh rotation, revocation, introspection.
/// </summary>
public sealed class AuthorizationFlowTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Discovery_BothWellKnownPaths_S256OnlyIssParameterAndMetadataDocuments()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        foreach (var path in new[] { "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration" })
        {
            using var response = await host.Gateway.Client.GetAsync(path, Ct);
            var metadata = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(host.Gateway.BaseUri.GetLeftPart(UriPartial.Authority) + "/", metadata.GetProperty("issuer").GetString());
            Assert.Equal(["S256"], metadata.GetProperty("code_challenge_methods_supported").EnumerateArray().Select(e => e.GetString()));
            Assert.True(metadata.GetProperty("authorization_response_iss_parameter_supported").GetBoolean());
            Assert.True(metadata.GetProperty("client_id_metadata_document_supported").GetBoolean());
            Assert.False(metadata.TryGetProperty("registration_endpoint", out _), "dynamic registration is off by default");
            Assert.Contains("none", metadata.GetProperty("token_endpoint_auth_methods_supported").EnumerateArray().Select(e => e.GetString()));
            Assert.EndsWith("/.gatehouse/oauth/revoke", metadata.GetProperty("revocation_endpoint").GetString(), StringComparison.Ordinal);
            Assert.EndsWith("/.gatehouse/oauth/introspect", metadata.GetProperty("introspection_endpoint").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task BrowserClients_MetadataAndTokenEndpoint_AnswerCorsFromAnyOrigin()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/.gatehouse/oauth/token");
        preflight.Headers.Add("Origin", "http://localhost:6274");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var metadata = new HttpRequestMessage(HttpMethod.Get, "/.well-known/oauth-authorization-server");
        metadata.Headers.Add("Origin", "http://localhost:6274");

        using var preflightResponse = await host.Gateway.Client.SendAsync(preflight, Ct);
        using var metadataResponse = await host.Gateway.Client.SendAsync(metadata, Ct);

        Assert.Equal(HttpStatusCode.NoContent, preflightResponse.StatusCode);
        Assert.Equal("*", preflightResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("POST", preflightResponse.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, metadataResponse.StatusCode);
        Assert.Equal("*", metadataResponse.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task ProtectedResourceMetadata_PathInsertedPerRoute_NamesGatehouseAsAuthorizationServer()
    {
        await using var host = await AuthorizationServerHost.StartAsync();

        using var sales = await host.Gateway.Client.GetAsync("/.well-known/oauth-protected-resource/sales", Ct);
        var metadata = JsonDocument.Parse(await sales.Content.ReadAsStringAsync(Ct)).RootElement;
        using var root = await host.Gateway.Client.GetAsync("/.well-known/oauth-protected-resource", Ct);

        Assert.Equal(HttpStatusCode.OK, sales.StatusCode);
        Assert.Equal(host.SalesResource, metadata.GetProperty("resource").GetString());
        Assert.Equal([host.Gateway.BaseUri.GetLeftPart(UriPartial.Authority) + "/"], metadata.GetProperty("authorization_servers").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("*", sales.Headers.GetValues("Access-Control-Allow-Origin").Single());
        // Two MCP servers on this host: the root cannot name one of them.
        Assert.Equal(HttpStatusCode.NotFound, root.StatusCode);
    }

    [Fact]
    public async Task McpRoute_NoToken_401WithResourceMetadataAndNeverARedirect()
    {
        await using var host = await AuthorizationServerHost.StartAsync();

        using var response = await host.PostInitializeAsync("/sales", bearer: null);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal($"Bearer resource_metadata=\"{host.Gateway.BaseUri.GetLeftPart(UriPartial.Authority)}/.well-known/oauth-protected-resource/sales\"",
            response.Headers.WwwAuthenticate.ToString());
        Assert.Equal(-32052, body.GetProperty("error").GetProperty("code").GetInt32());
        Assert.Empty(host.Received);
    }

    [Fact]
    public async Task CodeFlow_PublicClientWithPkce_TokenForTheRouteCallsToolsAndUpstreamSeesAssertionNotToken()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var pkce = Pkce.Create();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);

        // The redirect URI was registered without a port: a loopback client may use any (RFC 8252 §7.3).
        const string RedirectUri = "http://127.0.0.1:53111/cb";
        var redirect = await flow.AuthorizeAsync(OAuthFlow.AuthorizeQuery(AuthorizationServerHost.PublicClient, RedirectUri, pkce, host.SalesResource, state: "s-42"));
        var tokens = await flow.ExchangeCodeAsync(redirect.Code!, pkce, AuthorizationServerHost.PublicClient, RedirectUri);

        Assert.Equal("s-42", redirect.State);
        Assert.Equal(flow.Base.GetLeftPart(UriPartial.Authority) + "/", redirect.Issuer);
        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        Assert.NotNull(tokens.RefreshToken);
        var claims = tokens.AccessTokenClaims;
        Assert.Equal("at+jwt", Jwt.Header(tokens.AccessToken!).GetProperty("typ").GetString());
        Assert.Equal("ES256", Jwt.Header(tokens.AccessToken!).GetProperty("alg").GetString());
        Assert.Equal(host.SalesResource, claims.GetProperty("aud").GetString());
        Assert.Equal("alice@example.com", claims.GetProperty("sub").GetString());
        Assert.Equal("sales", claims.GetProperty("groups").GetString());

        await using (var client = await host.ConnectAsync("/sales", tokens.AccessToken!))
        {
            var result = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["message"] = "hello" }, cancellationToken: Ct);
            Assert.Equal("hello", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        }

        // The client's token never reaches the server; a signed assertion of alice's identity does.
        var headers = Assert.Single(host.Received.Where(h => h.ContainsKey("X-Gatehouse-Jwt-Assertion")).Take(1));
        Assert.DoesNotContain(host.Received, h => h.ContainsKey("Authorization"));
        var assertion = headers["X-Gatehouse-Jwt-Assertion"].ToString();
        var validated = await ValidateAssertionAsync(host, assertion);
        Assert.True(validated.IsValid, validated.Exception?.Message);
        var assertionClaims = Jwt.Payload(assertion);
        Assert.Equal("alice@example.com", assertionClaims.GetProperty("email").GetString());
        Assert.Equal(["sales"], assertionClaims.GetProperty("groups").EnumerateArray().Select(g => g.GetString()));
        Assert.Contains(host.SalesResource, assertionClaims.GetProperty("aud").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal(claims.GetProperty("sid").GetString(), assertionClaims.GetProperty("sid").GetString());
    }

    [Fact]
    public async Task AccessToken_ForOneRoute_RefusedOnTheOtherRoute()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var tokens = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, host.SalesResource, "alice@example.com", AuthorizationServerHost.Password);

        using var sales = await host.PostInitializeAsync("/sales", tokens.AccessToken);
        using var tickets = await host.PostInitializeAsync("/tickets", tokens.AccessToken);

        Assert.Equal(HttpStatusCode.OK, sales.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, tickets.StatusCode);
        Assert.Contains("error=\"invalid_token\"", tickets.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Contains("issued for another resource", tickets.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AccessToken_SameRouteByAnotherHostHeader_RefusedThenAcceptedAgainByItsOwn()
    {
        // The route (from: http://127.0.0.1, any port) keeps the issuer and resource URL of the Host it was last reached
        // by: each request must still be checked against the URLs of its own Host.
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var tokens = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, host.SalesResource, "alice@example.com", AuthorizationServerHost.Password);

        using var first = await host.PostInitializeAsync("/sales", tokens.AccessToken);
        using var byOtherHost = new HttpRequestMessage(HttpMethod.Post, "/sales")
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"ping"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        byOtherHost.Headers.Host = "127.0.0.1:1";
        byOtherHost.Headers.Accept.ParseAdd("application/json, text/event-stream");
        byOtherHost.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        using var refused = await host.Gateway.Client.SendAsync(byOtherHost, TestContext.Current.CancellationToken);
        using var again = await host.PostInitializeAsync("/sales", tokens.AccessToken);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        // The issuer (another host this gateway serves) is accepted; the audience still binds the token to its own URL.
        Assert.Contains("issued for another resource", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Contains("resource_metadata=\"http://127.0.0.1:1/.well-known/oauth-protected-resource/sales\"", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task Refresh_Rotates_AndReplayOfTheUsedTokenRevokesTheWholeFamily()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var first = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, host.SalesResource, "alice@example.com", AuthorizationServerHost.Password);

        var second = await flow.RefreshAsync(first.RefreshToken!, AuthorizationServerHost.PublicClient);
        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.NotEqual(first.RefreshToken, second.RefreshToken);
        Assert.Equal(host.SalesResource, second.AccessTokenClaims.GetProperty("aud").GetString());
        using (var ok = await host.PostInitializeAsync("/sales", second.AccessToken))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        // OAuth 2.1 §4.3.1: a used refresh token presented again means it leaked; the whole grant goes.
        var replay = await flow.RefreshAsync(first.RefreshToken!, AuthorizationServerHost.PublicClient);
        var successor = await flow.RefreshAsync(second.RefreshToken!, AuthorizationServerHost.PublicClient);

        Assert.Equal(HttpStatusCode.BadRequest, replay.Status);
        Assert.Equal("invalid_grant", replay.Error);
        Assert.Equal("invalid_grant", successor.Error);
        using var refused = await host.PostInitializeAsync("/sales", second.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("revoked", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pruning_KeepsUsedRefreshTokensWhileTheGrantLives_ThenRemovesThem()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var first = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, host.SalesResource, "alice@example.com", AuthorizationServerHost.Password);
        var second = await flow.RefreshAsync(first.RefreshToken!, AuthorizationServerHost.PublicClient);
        var pruner = host.Gateway.Services.GetRequiredService<GrantPruner>();
        var tokens = host.Gateway.Services.GetRequiredService<OpenIddict.Abstractions.IOpenIddictTokenManager>();
        var before = await tokens.CountAsync(TestContext.Current.CancellationToken);

        var now = await pruner.PruneAsync(DateTimeOffset.UtcNow, TestContext.Current.CancellationToken);
        // The used refresh token is still there, so its replay is still detected and revokes the family.
        var replay = await flow.RefreshAsync(first.RefreshToken!, AuthorizationServerHost.PublicClient);
        var later = await pruner.PruneAsync(DateTimeOffset.UtcNow.AddDays(32), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.Equal((0L, 0L), now);
        Assert.Equal("invalid_grant", replay.Error);
        Assert.True(later.Tokens >= 2, $"pruned {later.Tokens} tokens (the code and both refresh tokens are dead)");
        Assert.Equal(1L, later.Authorizations);
        Assert.Equal(before - later.Tokens, await tokens.CountAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Refresh_AskingForAnotherResource_InvalidTarget()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var tokens = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, host.SalesResource, "alice@example.com", AuthorizationServerHost.Password);

        var widened = await flow.RefreshAsync(tokens.RefreshToken!, AuthorizationServerHost.PublicClient, host.TicketsResource);

        Assert.Equal("invalid_target", widened.Error);
    }

    [Theory]
    [InlineData("expired")]
    [InlineData("bad-signature")]
    [InlineData("alg-none")]
    [InlineData("wrong-issuer")]
    [InlineData("wrong-type")]
    [InlineData("foreign-key")]
    public async Task AccessToken_Forged_RefusedWithInvalidToken(string attack)
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        var keys = host.Gateway.Services.GetRequiredService<SigningKeyStore>().Current;
        var issuer = host.Gateway.BaseUri.GetLeftPart(UriPartial.Authority) + "/";
        string Sign(string iss, DateTime expires, string type = "at+jwt", System.Security.Cryptography.ECDsa? key = null) =>
            new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(new SecurityTokenDescriptor
            {
                Issuer = iss,
                Audience = host.SalesResource,
                Expires = expires,
                IssuedAt = expires.AddHours(-1),
                Subject = new System.Security.Claims.ClaimsIdentity([new("sub", "alice@example.com")]),
                TokenType = type,
                SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key ?? keys.SigningKey) { KeyId = keys.KeyId }, SecurityAlgorithms.EcdsaSha256),
            });

        var valid = Sign(issuer, DateTime.UtcNow.AddMinutes(10));
        using var foreignKey = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var token = attack switch
        {
            "expired" => Sign(issuer, DateTime.UtcNow.AddMinutes(-5)),
            "bad-signature" => Tamper(valid),
            "alg-none" => Unsigned(valid),
            "wrong-issuer" => Sign("https://evil.example/", DateTime.UtcNow.AddMinutes(10)),
            "wrong-type" => Sign(issuer, DateTime.UtcNow.AddMinutes(10), type: "JWT"),
            _ => Sign(issuer, DateTime.UtcNow.AddMinutes(10), key: foreignKey),
        };

        using (var control = await host.PostInitializeAsync("/sales", valid))
        {
            Assert.Equal(HttpStatusCode.OK, control.StatusCode);
        }

        using var response = await host.PostInitializeAsync("/sales", token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Single(host.Received);
    }

    [Fact]
    public async Task SignOutEverywhere_TokensFromThatSessionRefusedAndRefreshFails()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var tokens = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, host.SalesResource, "alice@example.com", AuthorizationServerHost.Password);

        using var page = await flow.GetAsync("/.gatehouse/sign_out");
        var csrf = OAuthFlow.CsrfToken(await page.Content.ReadAsStringAsync(Ct));
        using var signOut = await flow.PostFormAsync("/.gatehouse/sign_out", [new("csrf_token", csrf)]);

        using var refused = await host.PostInitializeAsync("/sales", tokens.AccessToken);
        var refresh = await flow.RefreshAsync(tokens.RefreshToken!, AuthorizationServerHost.PublicClient);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("revoked", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal("invalid_grant", refresh.Error);
    }

    [Fact]
    public async Task Revocation_AccessTokenRevokedByItsClient_GatewayRefusesIt()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var tokens = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, host.SalesResource, "alice@example.com", AuthorizationServerHost.Password);

        using var revoke = await flow.PostFormAsync("/.gatehouse/oauth/revoke",
            [new("token", tokens.AccessToken!), new("token_type_hint", "access_token"), new("client_id", AuthorizationServerHost.PublicClient)]);

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        using var refused = await host.PostInitializeAsync("/sales", tokens.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        // The refresh token of the same grant is untouched by revoking one access token (RFC 7009 §2.1).
        Assert.Equal(HttpStatusCode.OK, (await flow.RefreshAsync(tokens.RefreshToken!, AuthorizationServerHost.PublicClient)).Status);
    }

    [Fact]
    public async Task Revocation_RefreshTokenRevoked_AccessTokensOfTheGrantRefusedToo()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var tokens = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, host.SalesResource, "alice@example.com", AuthorizationServerHost.Password);

        using var revoke = await flow.PostFormAsync("/.gatehouse/oauth/revoke",
            [new("token", tokens.RefreshToken!), new("token_type_hint", "refresh_token"), new("client_id", AuthorizationServerHost.PublicClient)]);

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        using var refused = await host.PostInitializeAsync("/sales", tokens.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("invalid_grant", (await flow.RefreshAsync(tokens.RefreshToken!, AuthorizationServerHost.PublicClient)).Error);
    }

    [Fact]
    public async Task Introspection_ResourceServerClient_SeesTokensOfItsRouteOnlyAndRevocations()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var sales = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, host.SalesResource, "alice@example.com", AuthorizationServerHost.Password);
        var pkce = Pkce.Create();
        var redirect = await flow.AuthorizeAsync(OAuthFlow.AuthorizeQuery(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, pkce, host.TicketsResource));
        var tickets = await flow.ExchangeCodeAsync(redirect.Code!, pkce, AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect);

        var active = await IntrospectAsync(host, sales.AccessToken!, AuthorizationServerHost.ResourceClient, AuthorizationServerHost.ResourceSecret);
        var otherRoute = await IntrospectAsync(host, tickets.AccessToken!, AuthorizationServerHost.ResourceClient, AuthorizationServerHost.ResourceSecret);
        var wrongSecret = await IntrospectRawAsync(host, sales.AccessToken!, AuthorizationServerHost.ResourceClient, "not-the-secret");

        Assert.True(active.GetProperty("active").GetBoolean());
        Assert.Equal("alice@example.com", active.GetProperty("email").GetString());
        Assert.Equal(host.SalesResource, active.GetProperty("aud").GetString());
        Assert.False(otherRoute.GetProperty("active").GetBoolean());
        Assert.Equal(HttpStatusCode.Unauthorized, wrongSecret.StatusCode);

        using var signOutPage = await flow.GetAsync("/.gatehouse/sign_out");
        using var signOut = await flow.PostFormAsync("/.gatehouse/sign_out", [new("csrf_token", OAuthFlow.CsrfToken(await signOutPage.Content.ReadAsStringAsync(Ct)))]);
        Assert.False((await IntrospectAsync(host, sales.AccessToken!, AuthorizationServerHost.ResourceClient, AuthorizationServerHost.ResourceSecret)).GetProperty("active").GetBoolean());
    }

    [Fact]
    public async Task ConfidentialClient_WrongSecretWithBasicAuth_401InvalidClient()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var pkce = Pkce.Create();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);
        var redirect = await flow.AuthorizeAsync(OAuthFlow.AuthorizeQuery(AuthorizationServerHost.ConfidentialClient, AuthorizationServerHost.ConfidentialRedirect, pkce, host.SalesResource));

        var wrong = await flow.ExchangeCodeAsync(redirect.Code!, pkce, AuthorizationServerHost.ConfidentialClient, AuthorizationServerHost.ConfidentialRedirect,
            clientAuthentication: Basic(AuthorizationServerHost.ConfidentialClient, "wrong-wrong-wrong-wrong"));
        var right = await flow.ExchangeCodeAsync(redirect.Code!, pkce, AuthorizationServerHost.ConfidentialClient, AuthorizationServerHost.ConfidentialRedirect,
            clientAuthentication: Basic(AuthorizationServerHost.ConfidentialClient, AuthorizationServerHost.ConfidentialSecret));

        Assert.Equal(HttpStatusCode.Unauthorized, wrong.Status);
        Assert.Equal("invalid_client", wrong.Error);
        Assert.StartsWith("Basic", wrong.WwwAuthenticate, StringComparison.Ordinal);
        // The failed attempt did not spend the code.
        Assert.Equal(HttpStatusCode.OK, right.Status);
    }

    [Fact]
    public async Task AuthorizationCode_Replayed_RefusedAndItsTokensRevoked()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var pkce = Pkce.Create();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);
        var redirect = await flow.AuthorizeAsync(OAuthFlow.AuthorizeQuery(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, pkce, host.SalesResource));
        var first = await flow.ExchangeCodeAsync(redirect.Code!, pkce, AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect);

        var second = await flow.ExchangeCodeAsync(redirect.Code!, pkce, AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect);

        Assert.Equal("invalid_grant", second.Error);
        using var refused = await host.PostInitializeAsync("/sales", first.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task Consent_RememberedPerUserAndClient_ThenRevokedOnConnectedAppsPage()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var tokens = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, host.SalesResource, "alice@example.com", AuthorizationServerHost.Password);

        // Second authorization: no consent page, straight back to the client.
        using (var again = await flow.GetAsync(OAuthFlow.AuthorizeQuery(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, Pkce.Create(), host.SalesResource)))
        {
            Assert.NotNull(OAuthFlow.Redirect(again).Code);
        }

        // A new server for the same client is asked about again.
        using (var wider = await flow.GetAsync(OAuthFlow.AuthorizeQuery(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, Pkce.Create(), host.TicketsResource)))
        {
            Assert.Equal(HttpStatusCode.OK, wider.StatusCode);
            Assert.Contains("Allow access?", await wider.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        using var apps = await flow.GetAsync("/.gatehouse/apps");
        var html = await apps.Content.ReadAsStringAsync(Ct);
        Assert.Contains("Test CLI", html, StringComparison.Ordinal);
        using var revoke = await flow.PostFormAsync("/.gatehouse/apps/revoke", [new("csrf_token", OAuthFlow.CsrfToken(html)), new("client_id", AuthorizationServerHost.PublicClient)]);

        Assert.Equal(HttpStatusCode.Redirect, revoke.StatusCode);
        Assert.Equal("invalid_grant", (await flow.RefreshAsync(tokens.RefreshToken!, AuthorizationServerHost.PublicClient)).Error);
        using var refused = await host.PostInitializeAsync("/sales", tokens.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        using var listAfter = await flow.GetAsync("/.gatehouse/apps");
        Assert.DoesNotContain("Test CLI", await listAfter.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Consent_Denied_ClientGetsAccessDeniedWithItsState()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);

        var redirect = await flow.AuthorizeAsync(OAuthFlow.AuthorizeQuery(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, Pkce.Create(), host.SalesResource, state: "st"), decision: "deny");

        Assert.Equal("access_denied", redirect.Error);
        Assert.Equal("st", redirect.State);
        Assert.Null(redirect.Code);
    }

    [Fact]
    public async Task ConsentPage_ShowsClientRedirectHostAndServers_NotFrameableAndCsrfProtected()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);

        using var page = await flow.GetAsync(OAuthFlow.AuthorizeQuery(AuthorizationServerHost.ConfidentialClient, AuthorizationServerHost.ConfidentialRedirect, Pkce.Create(), host.SalesResource));
        var html = await page.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Confidential App", html, StringComparison.Ordinal);
        Assert.Contains("app.example.com", html, StringComparison.Ordinal);
        Assert.Contains("sales", html, StringComparison.Ordinal);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.Contains("frame-ancestors 'none'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);

        // The form posted without its antiforgery token is refused and issues nothing.
        var fields = OAuthFlow.HiddenFields(html).Where(f => f.Key != "csrf_token").Append(new("gatehouse_consent", "allow"));
        using var forged = await flow.PostFormAsync("/.gatehouse/oauth/authorize", fields);
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        Assert.Null(forged.Headers.Location);
    }

    [Fact]
    public async Task Authorize_NotSignedIn_SentToSignInAndBackToTheSameRequest()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var query = OAuthFlow.AuthorizeQuery(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, Pkce.Create(), host.SalesResource);

        using var response = await flow.GetAsync(query);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!.OriginalString;
        Assert.StartsWith("/.gatehouse/sign_in?redirect_uri=", location, StringComparison.Ordinal);
        var back = Uri.UnescapeDataString(location["/.gatehouse/sign_in?redirect_uri=".Length..]);
        Assert.StartsWith("/.gatehouse/oauth/authorize?", back, StringComparison.Ordinal);
        Assert.Contains("client_id=" + AuthorizationServerHost.PublicClient, back, StringComparison.Ordinal);
    }

    public static IEnumerable<TheoryDataRow<string, string>> PkceAttacks =>
    [
        new("missing", "code_challenge"),
        new("plain", "code_challenge_method"),
    ];

    [Theory]
    [MemberData(nameof(PkceAttacks))]
    public async Task Authorize_PkceMissingOrPlain_RefusedWithoutRedirect(string attack, string parameterNamed)
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);
        var query = attack == "missing"
            ? $"/.gatehouse/oauth/authorize?response_type=code&client_id={AuthorizationServerHost.PublicClient}&redirect_uri={Uri.EscapeDataString(AuthorizationServerHost.PublicRedirect)}&state=x&resource={Uri.EscapeDataString(host.SalesResource)}"
            : $"/.gatehouse/oauth/authorize?response_type=code&client_id={AuthorizationServerHost.PublicClient}&redirect_uri={Uri.EscapeDataString(AuthorizationServerHost.PublicRedirect)}&state=x&code_challenge=abcdefghijabcdefghijabcdefghijabcdefghijabc&code_challenge_method=plain&resource={Uri.EscapeDataString(host.SalesResource)}";

        using var response = await flow.GetAsync(query);
        var html = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Contains("invalid_request", html, StringComparison.Ordinal);
        Assert.Contains(parameterNamed, html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_PkceVerifierMismatch_InvalidGrant()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var pkce = Pkce.Create();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);
        var redirect = await flow.AuthorizeAsync(OAuthFlow.AuthorizeQuery(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, pkce, host.SalesResource));

        var tokens = await flow.ExchangeCodeAsync(redirect.Code!, Pkce.Create(), AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect);

        Assert.Equal("invalid_grant", tokens.Error);
    }

    [Theory]
    [InlineData("unknown-client", "http://127.0.0.1/cb", "client_id")]
    [InlineData(AuthorizationServerHost.PublicClient, "https://evil.example/cb", "invalid_request")]
    [InlineData(AuthorizationServerHost.PublicClient, "http://127.0.0.1/other-path", "invalid_request")]
    [InlineData(AuthorizationServerHost.ConfidentialClient, "https://app.example.com/callback/../evil", "invalid_request")]
    public async Task Authorize_UnknownClientOrUnregisteredRedirect_ErrorPageAndNoRedirect(string clientId, string redirectUri, string error)
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);

        using var response = await flow.GetAsync(OAuthFlow.AuthorizeQuery(clientId, redirectUri, Pkce.Create(), host.SalesResource));
        var html = await response.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Contains(error, html, StringComparison.Ordinal);
        Assert.DoesNotContain("evil.example", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://elsewhere.example/sales")]
    [InlineData("/sales-not-a-route")]
    [InlineData("/nothing")]
    public async Task Authorize_ResourceThatIsNoMcpServerHere_InvalidTarget(string resource)
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);
        var absolute = resource.StartsWith('/') ? host.Gateway.BaseUri.GetLeftPart(UriPartial.Authority) + resource : resource;

        var redirect = await flow.AuthorizeAsync(OAuthFlow.AuthorizeQuery(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, Pkce.Create(), absolute));

        Assert.Equal("invalid_target", redirect.Error);
        Assert.Null(redirect.Code);
    }

    [Fact]
    public async Task Authorize_ResourceInAnotherCaseWithTrailingSlash_CanonicalisedToTheRoute()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var pkce = Pkce.Create();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);
        var shouted = host.SalesResource.Replace("http://", "HTTP://", StringComparison.Ordinal) + "/";

        var redirect = await flow.AuthorizeAsync(OAuthFlow.AuthorizeQuery(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, pkce, shouted));
        var tokens = await flow.ExchangeCodeAsync(redirect.Code!, pkce, AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect);

        Assert.Equal(host.SalesResource, tokens.AccessTokenClaims.GetProperty("aud").GetString());
    }

    [Fact]
    public async Task LegacyClient_2025_03_26_AuthorizeAndTokenAtTheOrigin_Work()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var pkce = Pkce.Create();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);

        var query = OAuthFlow.AuthorizeQuery(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, pkce, host.SalesResource)
            .Replace("/.gatehouse/oauth/authorize", "/authorize", StringComparison.Ordinal);
        var redirect = await flow.AuthorizeAsync(query);
        var tokens = await flow.TokenRequestAsync(
            [new("grant_type", "authorization_code"), new("code", redirect.Code!), new("redirect_uri", AuthorizationServerHost.PublicRedirect),
             new("code_verifier", pkce.Verifier), new("client_id", AuthorizationServerHost.PublicClient)], null);

        Assert.Equal(HttpStatusCode.OK, tokens.Status);
    }

    [Fact]
    public async Task DynamicRegistration_OffByDefault_403WithTheAlternative()
    {
        await using var host = await AuthorizationServerHost.StartAsync();

        using var response = await host.Gateway.Client.PostAsync("/.gatehouse/oauth/register",
            new StringContent("""{"redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}""", System.Text.Encoding.UTF8, "application/json"), Ct);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("Client ID Metadata Document", body.GetProperty("error_description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DynamicRegistration_Enabled_RegistersPublicClientThatCompletesTheFlow()
    {
        await using var host = await AuthorizationServerHost.StartAsync("dynamic_client_registration: {enabled: true}");

        using var metadataResponse = await host.Gateway.Client.GetAsync("/.well-known/oauth-authorization-server", Ct);
        var metadata = JsonDocument.Parse(await metadataResponse.Content.ReadAsStringAsync(Ct)).RootElement;
        using var bad = await host.Gateway.Client.PostAsync("/.gatehouse/oauth/register",
            new StringContent("""{"redirect_uris":["javascript:alert(1)"]}""", System.Text.Encoding.UTF8, "application/json"), Ct);
        using var response = await host.Gateway.Client.PostAsync("/.gatehouse/oauth/register",
            new StringContent("""{"client_name":"Agent 7","redirect_uris":["http://127.0.0.1:4567/callback"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"]}""",
                System.Text.Encoding.UTF8, "application/json"), Ct);
        var registered = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;

        Assert.EndsWith("/.gatehouse/oauth/register", metadata.GetProperty("registration_endpoint").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("invalid_redirect_uri", JsonDocument.Parse(await bad.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.False(registered.TryGetProperty("client_secret", out _));
        var clientId = registered.GetProperty("client_id").GetString()!;

        using var flow = host.NewFlow();
        var pkce = Pkce.Create();
        await flow.SignInAsync("bob@example.com", AuthorizationServerHost.Password);
        var consent = await flow.GetAsync(OAuthFlow.AuthorizeQuery(clientId, "http://127.0.0.1:4567/callback", pkce, host.TicketsResource));
        Assert.Contains("Agent 7", await consent.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var redirect = await flow.AuthorizeAsync(OAuthFlow.AuthorizeQuery(clientId, "http://127.0.0.1:4567/callback", pkce, host.TicketsResource));
        var tokens = await flow.ExchangeCodeAsync(redirect.Code!, pkce, clientId, "http://127.0.0.1:4567/callback");
        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        Assert.Equal("bob@example.com", tokens.AccessTokenClaims.GetProperty("sub").GetString());
    }

    /// <summary>HTTP Basic client authentication (RFC 6749 §2.3.1: form-encoded id and secret).</summary>
    private static AuthenticationHeaderValue Basic(string id, string secret) =>
        new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(id)}:{Uri.EscapeDataString(secret)}")));

    private static async Task<JsonElement> IntrospectAsync(AuthorizationServerHost host, string token, string clientId, string secret)
    {
        using var response = await IntrospectRawAsync(host, token, clientId, secret);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.Clone();
    }

    private static async Task<HttpResponseMessage> IntrospectRawAsync(AuthorizationServerHost host, string token, string clientId, string secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/.gatehouse/oauth/introspect") { Content = new FormUrlEncodedContent([new("token", token)]) };
        request.Headers.Authorization = Basic(clientId, secret);
        return await host.Gateway.Client.SendAsync(request, Ct);
    }

    private static async Task<TokenValidationResult> ValidateAssertionAsync(AuthorizationServerHost host, string assertion)
    {
        using var jwksResponse = await host.Gateway.Client.GetAsync("/.well-known/gatehouse/jwks.json", Ct);
        var jwks = new Microsoft.IdentityModel.Tokens.JsonWebKeySet(await jwksResponse.Content.ReadAsStringAsync(Ct));
        return await new JsonWebTokenHandler().ValidateTokenAsync(assertion, new TokenValidationParameters
        {
            IssuerSigningKeys = jwks.GetSigningKeys(),
            ValidIssuer = "127.0.0.1",
            ValidAudience = host.SalesResource,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
        });
    }

    /// <summary>Changes the payload and keeps the signature.</summary>
    private static string Tamper(string jwt)
    {
        var parts = jwt.Split('.');
        var payload = Jwt.Payload(jwt).GetRawText().Replace("alice@example.com", "mallory@example.com", StringComparison.Ordinal);
        return $"{parts[0]}.{Pkce.Base64Url(System.Text.Encoding.UTF8.GetBytes(payload))}.{parts[2]}";
    }

    /// <summary>The same claims with <c>alg: none</c> and no signature.</summary>
    private static string Unsigned(string jwt)
    {
        var parts = jwt.Split('.');
        return $"{Pkce.Base64Url("""{"alg":"none","typ":"at+jwt"}"""u8.ToArray())}.{parts[1]}.";
    }
}
