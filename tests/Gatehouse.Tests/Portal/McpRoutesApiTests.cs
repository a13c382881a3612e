using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.Cli;
using Gatehouse.Tests.Authorization;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Server;

namespace Gatehouse.Tests.Portal;

/// <summary>
/// The app side of seed 001: a client route's app receives a TE for its signed-in user, calls the MCP servers that
/// user may reach with it, and lists, connects and disconnects them through the routes API. A real gateway in front
/// of a real MCP server (routes <c>/sales</c>, sales only, and <c>/tickets</c>, everyone) and an app that echoes
/// the headers it receives.
/// </summary>
public sealed class McpRoutesApiTests : IAsyncLifetime
{
    private const string Password = AuthorizationServerHost.Password;
    private static readonly string s_hash = UsersCommand.HashPassword(Password);

    private TestUpstream? _upstream;
    private TestGateway? _gateway;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private TestGateway Gateway => _gateway!;

    private string Origin => Gateway.BaseUri.GetLeftPart(UriPartial.Authority);

    public async ValueTask InitializeAsync()
    {
        _upstream = await TestUpstream.StartAsync(
            app =>
            {
                app.Map("/app", branch => branch.Run(context => context.Response.WriteAsJsonAsync(
                    context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()), Ct)));
                app.MapMcp("/sales");
                app.MapMcp("/tickets");
            },
            services => services.AddSingleton(new TestMcpServer.InstanceName("upstream")).AddMcpServer()
                .WithHttpTransport(options => options.Stateless = true)
                .WithTools<TestMcpServer.EchoTools>());
        _gateway = await TestGateway.StartAsync($$"""
              - name: app
                from: http://127.0.0.1
                prefix: /app
                to: {{_upstream.Origin}}
                mcp:
                  client: {}
              - name: Sales
                description: Sales figures
                logo_url: https://example.com/sales.png
                from: http://127.0.0.1
                prefix: /sales
                to: {{_upstream.Origin}}
                mcp:
                  server: {}
                policy:
                  - allow:
                      or:
                        - groups: {has: sales}
              - name: tickets
                from: http://127.0.0.1
                prefix: /tickets
                to: {{_upstream.Origin}}
                mcp:
                  server: {}
            """, $$"""
            idp:
              provider: builtin
              users:
                - {email: alice@example.com, name: Alice, groups: [sales], password_hash: {{s_hash}}}
                - {email: bob@example.com, name: Bob, groups: [engineering], password_hash: {{s_hash}}}
            """);
    }

    public async ValueTask DisposeAsync()
    {
        var errors = _gateway?.Logs.UnexpectedErrors.ToList() ?? [];
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        if (_upstream is not null)
        {
            await _upstream.DisposeAsync();
        }

        Assert.Empty(errors);
    }

    /// <summary>Signs <paramref name="email"/> in and returns the TE the app behind <c>/app</c> receives.</summary>
    private async Task<(OAuthFlow Flow, string Te)> SignInAtAppAsync(string email)
    {
        var flow = new OAuthFlow(Gateway.BaseUri);
        await flow.SignInAsync(email, Password);
        using var response = await flow.GetAsync("/app/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var headers = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
        var authorization = headers.GetProperty("authorization").GetString()!;
        Assert.StartsWith("Bearer ", authorization, StringComparison.Ordinal);
        return (flow, authorization["Bearer ".Length..]);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string? bearer, HttpContent? content = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (bearer is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        }

        return await Gateway.Client.SendAsync(request, Ct);
    }

    private async Task<HttpResponseMessage> InitializeAsync(string path, string bearer)
    {
        var content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
            Encoding.UTF8, "application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        return await Gateway.Client.SendAsync(request, Ct);
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;

    [Fact]
    public async Task ClientRoute_AppReceivesTe_BoundToTheMcpServersTheUserMayReach()
    {
        var (flow, te) = await SignInAtAppAsync("alice@example.com");
        using var _ = flow;

        var header = Jwt.Header(te);
        var claims = Jwt.Payload(te);
        Assert.Equal("at+jwt", header.GetProperty("typ").GetString());
        Assert.Equal("ES256", header.GetProperty("alg").GetString());
        Assert.Equal(Origin + "/", claims.GetProperty("iss").GetString());
        Assert.Equal([Origin + "/sales", Origin + "/tickets"], claims.GetProperty("aud").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("client-route:app", claims.GetProperty("client_id").GetString());
        Assert.Equal("alice@example.com", claims.GetProperty("email").GetString());
        Assert.True(claims.GetProperty("exp").GetInt64() - claims.GetProperty("iat").GetInt64() <= 300);
        Assert.True(claims.TryGetProperty("sid", out var _));

        using var sales = await InitializeAsync("/sales", te);
        using var tickets = await InitializeAsync("/tickets", te);
        Assert.Equal(HttpStatusCode.OK, sales.StatusCode);
        Assert.Equal(HttpStatusCode.OK, tickets.StatusCode);
    }

    [Fact]
    public async Task ClientRoute_UserWhosePolicyRefusesARoute_TeDoesNotReachIt()
    {
        var (flow, te) = await SignInAtAppAsync("bob@example.com");
        using var _ = flow;

        Assert.Equal([Origin + "/tickets"], Jwt.Payload(te).GetProperty("aud").EnumerateArray().Select(a => a.GetString()));
        using var sales = await InitializeAsync("/sales", te);
        using var tickets = await InitializeAsync("/tickets", te);
        Assert.Equal(HttpStatusCode.Unauthorized, sales.StatusCode);
        Assert.Contains("another resource", sales.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, tickets.StatusCode);
    }

    [Fact]
    public async Task ClientRoute_BrowserSendsItsOwnBearer_AppStillGetsOnlyTheTe()
    {
        var flow = new OAuthFlow(Gateway.BaseUri);
        using var __ = flow;
        await flow.SignInAsync("alice@example.com", Password);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/app/");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "forged");
        using var response = await flow.SendAsync(request);

        var authorization = (await JsonAsync(response)).GetProperty("authorization").GetString()!;
        Assert.NotEqual("Bearer forged", authorization);
        Assert.Equal("client-route:app", Jwt.Payload(authorization["Bearer ".Length..]).GetProperty("client_id").GetString());
    }

    [Theory]
    [InlineData("/.gatehouse/mcp/routes")]
    [InlineData("/.pomerium/mcp/routes")]
    public async Task Routes_WithTe_ListsReachableServersInPomeriumShape(string path)
    {
        var (flow, te) = await SignInAtAppAsync("alice@example.com");
        using var _ = flow;

        using var response = await SendAsync(HttpMethod.Get, path, te);
        var servers = (await JsonAsync(response)).GetProperty("servers").EnumerateArray().ToList();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.Equal(2, servers.Count);
        Assert.Equal("Sales", servers[0].GetProperty("name").GetString());
        Assert.Equal("Sales figures", servers[0].GetProperty("description").GetString());
        Assert.Equal("https://example.com/sales.png", servers[0].GetProperty("logo_url").GetString());
        Assert.Equal(Origin + "/sales", servers[0].GetProperty("url").GetString());
        Assert.True(servers[0].GetProperty("connected").GetBoolean());
        Assert.False(servers[0].GetProperty("needs_oauth").GetBoolean());
        Assert.Equal("tickets", servers[1].GetProperty("name").GetString());
        Assert.False(servers[1].TryGetProperty("description", out var _), "empty fields are omitted");
    }

    [Fact]
    public async Task Routes_WithSessionCookie_ListsOnlyWhatTheUserMayReach()
    {
        using var flow = new OAuthFlow(Gateway.BaseUri);
        await flow.SignInAsync("bob@example.com", Password);

        using var response = await flow.GetAsync("/.gatehouse/mcp/routes");
        var servers = (await JsonAsync(response)).GetProperty("servers").EnumerateArray().ToList();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["tickets"], servers.Select(s => s.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task Routes_WithoutCredentialsOrWithAnOrdinaryAccessToken_401()
    {
        using var anonymous = await SendAsync(HttpMethod.Get, "/.gatehouse/mcp/routes", bearer: null);
        using var garbage = await SendAsync(HttpMethod.Get, "/.gatehouse/mcp/routes", "not-a-token");

        // An access token an OAuth client got for one MCP server must not list the user's others: only TEs may.
        await using var host = await AuthorizationServerHost.StartAsync();
        using var flow = host.NewFlow();
        var tokens = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, host.SalesResource, "alice@example.com", Password);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/.gatehouse/mcp/routes");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", tokens.AccessToken);
        using var ordinary = await host.Gateway.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, garbage.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, ordinary.StatusCode);
        Assert.Equal("application/problem+json", anonymous.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Te_AfterSignOut_RefusedEverywhere()
    {
        var (flow, te) = await SignInAtAppAsync("alice@example.com");
        using var _ = flow;
        using (var before = await SendAsync(HttpMethod.Get, "/.gatehouse/mcp/routes", te))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        using var page = await flow.GetAsync("/.gatehouse/sign_out");
        using var signOut = await flow.PostFormAsync("/.gatehouse/sign_out", [new("csrf_token", OAuthFlow.CsrfToken(await page.Content.ReadAsStringAsync(Ct)))]);

        await AuthorizationServerHost.EventuallyAsync(async () =>
        {
            using var after = await SendAsync(HttpMethod.Get, "/.gatehouse/mcp/routes", te);
            return after.StatusCode == HttpStatusCode.Unauthorized;
        }, "the TE of a signed-out session is refused by the routes API");
        using var call = await InitializeAsync("/tickets", te);
        Assert.Equal(HttpStatusCode.Unauthorized, call.StatusCode);
        Assert.Contains("revoked", call.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, "redirect_url is required")]
    [InlineData("https://evil.example/done", "must be on this host")]
    [InlineData("javascript:alert(1)", "must use https")]
    [InlineData("http://example.com/done", "must use https")]
    [InlineData("/relative", "absolute URL")]
    [InlineData("https://user:pw@127.0.0.1/x", "absolute URL")]
    public async Task Connect_BadRedirectUrl_400WithTheReason(string? redirect, string reason)
    {
        var (flow, te) = await SignInAtAppAsync("alice@example.com");
        using var _ = flow;
        var query = redirect is null ? "" : "?redirect_url=" + Uri.EscapeDataString(redirect);

        using var response = await SendAsync(HttpMethod.Get, "/.gatehouse/mcp/connect" + query, te);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, (await JsonAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_ServerNeedingNoOAuth_StraightBackToTheApp()
    {
        using var flow = new OAuthFlow(Gateway.BaseUri);
        await flow.SignInAsync("alice@example.com", Password);
        var back = Origin + "/app/done?x=1";

        using var response = await flow.GetAsync($"/.pomerium/mcp/connect?redirect_url={Uri.EscapeDataString(back)}&server={Uri.EscapeDataString(Origin + "/sales")}");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(back, response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Connect_ServerTheUserMayNotReach_BackWithConnectError()
    {
        using var flow = new OAuthFlow(Gateway.BaseUri);
        await flow.SignInAsync("bob@example.com", Password);
        var back = Origin + "/app/done";

        using var response = await flow.GetAsync($"/.gatehouse/mcp/connect?redirect_url={Uri.EscapeDataString(back)}&server={Uri.EscapeDataString(Origin + "/sales")}");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var location = response.Headers.Location!.OriginalString;
        Assert.StartsWith(back + "?connect_error=", location, StringComparison.Ordinal);
        Assert.Contains("No%20MCP%20server%20you%20may%20use", location, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_SignedOutBrowser_SentToSignInAndBack()
    {
        using var flow = new OAuthFlow(Gateway.BaseUri);
        var path = "/.gatehouse/mcp/connect?redirect_url=" + Uri.EscapeDataString(Origin + "/app/");

        using var response = await flow.GetAsync(path);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/.gatehouse/sign_in?redirect_uri=" + Uri.EscapeDataString(path), response.Headers.Location!.OriginalString);
    }

    [Fact]
    public async Task Disconnect_WithTe_ReturnsTheListing()
    {
        var (flow, te) = await SignInAtAppAsync("alice@example.com");
        using var _ = flow;

        using var response = await SendAsync(HttpMethod.Post, "/.gatehouse/mcp/routes/disconnect", te,
            new StringContent($$"""{"routes":["{{Origin}}/tickets"]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, (await JsonAsync(response)).GetProperty("servers").GetArrayLength());
    }

    [Theory]
    [InlineData("text/plain", """{"routes":["/tickets"]}""", HttpStatusCode.UnsupportedMediaType)]
    [InlineData("application/json", "{", HttpStatusCode.BadRequest)]
    [InlineData("application/json", """{"routes":[]}""", HttpStatusCode.BadRequest)]
    [InlineData("application/json", """{"routes":["https://elsewhere.example/mcp"]}""", HttpStatusCode.BadRequest)]
    public async Task Disconnect_BadBody_ClearError(string contentType, string body, HttpStatusCode expected)
    {
        var (flow, te) = await SignInAtAppAsync("alice@example.com");
        using var _ = flow;

        using var response = await SendAsync(HttpMethod.Post, "/.gatehouse/mcp/routes/disconnect", te, new StringContent(body, Encoding.UTF8, contentType));

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Disconnect_CookieFromAnotherOrigin_403()
    {
        using var flow = new OAuthFlow(Gateway.BaseUri);
        await flow.SignInAsync("alice@example.com", Password);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/.gatehouse/mcp/routes/disconnect")
        {
            Content = new StringContent($$"""{"routes":["{{Origin}}/tickets"]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Origin", "https://evil.example");

        using var response = await flow.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }
}
