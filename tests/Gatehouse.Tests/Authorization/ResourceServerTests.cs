using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Cli;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tests.Authorization;

/// <summary>The gateway's side of authentication on routes other than the MCP basics covered by the flow tests.</summary>
public sealed class ResourceServerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<TestUpstream> StartMirrorAsync() => TestUpstream.StartAsync(app => app.Run(context => context.Response.WriteAsJsonAsync(
        context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()), Ct)));

    [Fact]
    public async Task WebRoute_Protected_BrowserSentToSignInThenUpstreamGetsAssertionWithoutGatewayCookies()
    {
        await using var upstream = await StartMirrorAsync();
        var hash = UsersCommand.HashPassword(AuthorizationServerHost.Password);
        await using var gateway = await TestGateway.StartAsync($"""
              - name: app
                from: http://127.0.0.1
                prefix: /app
                to: {upstream.Origin}
            """, $$"""
            idp:
              provider: builtin
              users: [{email: alice@example.com, name: Alice, groups: [sales, admins], password_hash: {{hash}}}]
            """);
        using var flow = new OAuthFlow(gateway.BaseUri);

        using (var anonymous = await flow.GetAsync("/app/page?x=1"))
        {
            Assert.Equal(HttpStatusCode.Redirect, anonymous.StatusCode);
            Assert.Equal("/.gatehouse/sign_in?redirect_uri=%2Fapp%2Fpage%3Fx%3D1", anonymous.Headers.Location!.OriginalString);
        }

        using (var post = await flow.PostFormAsync("/app/form", [new("a", "b")]))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, post.StatusCode);
        }

        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/app/page");
        request.Headers.Add("Cookie", "theme=dark");
        using var response = await flow.SendAsync(request);
        var headers = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var claims = Jwt.Payload(headers.GetProperty("x-gatehouse-jwt-assertion").GetString()!);
        Assert.Equal("alice@example.com", claims.GetProperty("email").GetString());
        Assert.Equal(["sales", "admins"], claims.GetProperty("groups").EnumerateArray().Select(g => g.GetString()));
        var cookie = headers.GetProperty("cookie").GetString()!;
        Assert.Contains("theme=dark", cookie, StringComparison.Ordinal);
        Assert.DoesNotContain("gatehouse_session", cookie, StringComparison.Ordinal);
        Assert.DoesNotContain("gatehouse_csrf", cookie, StringComparison.Ordinal);
    }

    [Fact]
    public async Task McpRoute_SessionCookieAlone_NotEnough()
    {
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/sales")
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"ping"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        using var response = await flow.SendAsync(request);

        // A cookie would let any web page drive the user's MCP servers (CSRF): MCP routes take bearer tokens only.
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(host.Received);
    }

    [Fact]
    public async Task JwtAssertionHeader_Pomerium_UpstreamReceivesPomeriumHeaderOnly()
    {
        await using var host = await AuthorizationServerHost.StartAsync(extraTopLevelYaml: "jwt_assertion_header: X-Pomerium-Jwt-Assertion");
        using var flow = host.NewFlow();
        var tokens = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, host.SalesResource, "alice@example.com", AuthorizationServerHost.Password);

        using var response = await host.PostInitializeAsync("/sales", tokens.AccessToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var headers = Assert.Single(host.Received);
        Assert.True(headers.ContainsKey("X-Pomerium-Jwt-Assertion"));
        Assert.False(headers.ContainsKey("X-Gatehouse-Jwt-Assertion"));
        using var jwks = await host.Gateway.Client.GetAsync("/.well-known/pomerium/jwks.json", Ct);
        Assert.Contains(Jwt.Header(headers["X-Pomerium-Jwt-Assertion"].ToString()).GetProperty("kid").GetString()!, await jwks.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public Task SigningKeyFile_TokensAndAssertionsSignedWithTheConfiguredKey() => WithSigningKeyFileAsync(async (host, key) =>
    {
        using var flow = host.NewFlow();
        var tokens = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, host.SalesResource, "alice@example.com", AuthorizationServerHost.Password);

        using var jwksResponse = await host.Gateway.Client.GetAsync("/.gatehouse/oauth/jwks", Ct);
        var jwks = JsonDocument.Parse(await jwksResponse.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("keys");
        var x = Pkce.Base64Url(key.ExportParameters(false).Q.X!);
        var configured = jwks.EnumerateArray().Single(k => k.GetProperty("x").GetString() == x);

        Assert.Equal(configured.GetProperty("kid").GetString(), Jwt.Header(tokens.AccessToken!).GetProperty("kid").GetString());
        using var call = await host.PostInitializeAsync("/sales", tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, call.StatusCode);
        var assertion = Assert.Single(host.Received)["X-Gatehouse-Jwt-Assertion"].ToString();
        Assert.Equal(configured.GetProperty("kid").GetString(), Jwt.Header(assertion).GetProperty("kid").GetString());
    });

    [Fact]
    public Task AccessToken_SignedWithOurKeyButForeignIssuer_Refused() => WithSigningKeyFileAsync(async (host, key) =>
    {
        // Hosts this gateway serves share one issuer key, so tokens of any of them are accepted (the audience binds
        // them to a route); an issuer that is not one of those hosts is refused even with a valid signature.
        using var flow = host.NewFlow();
        var tokens = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, host.SalesResource, "alice@example.com", AuthorizationServerHost.Password);
        var claims = Jwt.Payload(tokens.AccessToken!).EnumerateObject().ToDictionary(p => p.Name, p => (object)p.Value.Clone());
        claims["iss"] = "https://issuer.example.net/";
        claims["jti"] = Guid.NewGuid().ToString();
        var forged = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler().CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Claims = claims,
            TokenType = "at+jwt",
            SigningCredentials = new(new Microsoft.IdentityModel.Tokens.ECDsaSecurityKey(key) { KeyId = Jwt.Header(tokens.AccessToken!).GetProperty("kid").GetString() }, "ES256"),
        });

        using var genuine = await host.PostInitializeAsync("/sales", tokens.AccessToken);
        using var refused = await host.PostInitializeAsync("/sales", forged);

        Assert.Equal(HttpStatusCode.OK, genuine.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("issued by another authorization server", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    });

    /// <summary>Runs <paramref name="test"/> against a gateway whose signing key is a PEM file it was given.</summary>
    private static async Task WithSigningKeyFileAsync(Func<AuthorizationServerHost, ECDsa, Task> test)
    {
        var directory = Directory.CreateTempSubdirectory("gatehouse-key-").FullName;
        try
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var path = Path.Combine(directory, "signing.pem");
            await File.WriteAllTextAsync(path, key.ExportPkcs8PrivateKeyPem(), Ct);
            await using var host = await AuthorizationServerHost.StartAsync($"signing_key_file: {path}");
            await test(host, key);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task PublicRoute_SpoofedAssertionDroppedAndNoneAdded()
    {
        await using var upstream = await StartMirrorAsync();
        await using var gateway = await TestGateway.StartAsync($"""
              - name: open
                from: http://127.0.0.1
                to: {upstream.Origin}
                allow_public_unauthenticated_access: true
            """);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.Add("X-Gatehouse-Jwt-Assertion", "forged");
        request.Headers.Add("X-Pomerium-Jwt-Assertion", "forged");
        using var response = await gateway.Client.SendAsync(request, Ct);
        var headers = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;

        Assert.False(headers.TryGetProperty("x-gatehouse-jwt-assertion", out _));
        Assert.False(headers.TryGetProperty("x-pomerium-jwt-assertion", out _));
    }
}
