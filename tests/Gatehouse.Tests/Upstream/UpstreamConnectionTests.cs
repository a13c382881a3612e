using System.Net;
using System.Text.Json;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Upstream;

/// <summary>
/// Seed 001's upstream token (TI) over real HTTP: connect through the routes API, the callback, the encrypted vault,
/// the TI on the request path, refresh, failures and disconnect, against an upstream MCP server with its own OAuth.
/// </summary>
public sealed class UpstreamConnectionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private const string StaticClient = $"""
                upstream_oauth2:
                  client_id: {UpstreamOAuthServer.ClientId}
                  client_secret: {UpstreamOAuthServer.ClientSecret}
        """;

    private static async Task<JsonElement> ListingAsync(UpstreamGatewayFixture fixture, OAuthFlow browser)
    {
        using var response = await browser.GetAsync("/.gatehouse/mcp/routes");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var servers = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("servers");
        return servers.EnumerateArray().Single(s => s.GetProperty("url").GetString() == fixture.McpUrl);
    }

    [Fact]
    public async Task Connect_DiscoveredUpstream_StoresEncryptedTokenAndInjectsIt()
    {
        await using var fixture = await UpstreamGatewayFixture.StartAsync();
        var (browser, te) = await fixture.SignInAsync();
        using var _ = browser;

        var before = await ListingAsync(fixture, browser);
        Assert.True(before.GetProperty("needs_oauth").GetBoolean());
        Assert.False(before.GetProperty("connected").GetBoolean());

        var authorize = await fixture.BeginConnectAsync(browser);
        Assert.True(authorize.AbsoluteUri.StartsWith(fixture.Upstream.Origin + "/authorize?", StringComparison.Ordinal), Uri.UnescapeDataString(authorize.AbsoluteUri));
        var query = System.Web.HttpUtility.ParseQueryString(authorize.Query);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Equal(fixture.Upstream.McpUrl, query["resource"]);
        Assert.Equal("mcp:read", query["scope"]);
        Assert.Equal(fixture.Origin + "/.gatehouse/mcp/client/oauth/callback", query["redirect_uri"]);
        Assert.StartsWith("dcr-", query["client_id"], StringComparison.Ordinal);

        var back = await UpstreamGatewayFixture.CallbackAsync(browser, await UpstreamGatewayFixture.AuthorizeAtUpstreamAsync(authorize));
        Assert.Equal(fixture.Origin + "/done", back);

        var record = Assert.Single(await fixture.VaultAsync());
        Assert.Equal("Notes", record.RouteId);
        Assert.False(record.Disconnected);
        Assert.DoesNotContain("upstream-at-", record.ProtectedTokens, StringComparison.Ordinal);
        Assert.DoesNotContain("upstream-rt-", record.ProtectedTokens, StringComparison.Ordinal);
        Assert.True((await ListingAsync(fixture, browser)).GetProperty("connected").GetBoolean());

        using var response = await fixture.InitializeAsync(te);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = fixture.Upstream.AuthorizationHeadersSeen.Last();
        Assert.StartsWith("Bearer upstream-at-", seen, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Upstream.AuthorizationHeadersSeen, h => h.Contains(te, StringComparison.Ordinal));
        Assert.DoesNotContain(fixture.Gateway.Logs.Entries, e => e.Message.Contains("upstream-at-", StringComparison.Ordinal) || e.Message.Contains("upstream-rt-", StringComparison.Ordinal));

        // Connecting again after a disconnect reuses the dynamic registration kept in the database.
        using (var disconnected = await fixture.DisconnectAsync(te))
        {
            Assert.Equal(HttpStatusCode.OK, disconnected.StatusCode);
        }

        await fixture.ConnectAsync(browser);
        Assert.Single(fixture.Upstream.Registrations);
    }

    [Fact]
    public async Task Request_NotConnected_Gets401TellingTheClientToReauthorize()
    {
        await using var fixture = await UpstreamGatewayFixture.StartAsync(StaticClient);
        var (browser, te) = await fixture.SignInAsync();
        using var _ = browser;

        using var response = await fixture.InitializeAsync(te);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("resource_metadata=", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
        Assert.Equal("2.0", body.GetProperty("jsonrpc").GetString());
        Assert.Contains("authorize this MCP server again", body.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Upstream.AuthorizationHeadersSeen, h => h.Length > 0);
    }

    [Fact]
    public async Task Request_DiscoveredRouteNotYetKnown_UpstreamChallengeBecomesGatehouseChallenge()
    {
        await using var fixture = await UpstreamGatewayFixture.StartAsync();
        var (browser, te) = await fixture.SignInAsync();
        using var _ = browser;

        using var response = await fixture.InitializeAsync(te);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = response.Headers.WwwAuthenticate.ToString();
        Assert.Contains(fixture.Origin + "/.well-known/oauth-protected-resource/mcp", challenge, StringComparison.Ordinal);
        Assert.DoesNotContain(fixture.Upstream.Origin, challenge, StringComparison.Ordinal);
        Assert.False((await ListingAsync(fixture, browser)).GetProperty("connected").GetBoolean());
    }

    [Fact]
    public async Task Refresh_FiftyConcurrentCallsWithExpiringToken_RefreshOnce()
    {
        await using var fixture = await UpstreamGatewayFixture.StartAsync(StaticClient);
        fixture.Upstream.FirstLifetimeSeconds = 30; // inside the default 60 s skew: due for refresh at once
        var (browser, te) = await fixture.SignInAsync();
        using var _ = browser;
        await fixture.ConnectAsync(browser);
        var firstToken = (await fixture.VaultAsync()).Single().ProtectedTokens;

        var responses = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => fixture.InitializeAsync(te)));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var r in responses)
        {
            r.Dispose();
        }

        Assert.Equal(1, fixture.Upstream.Refreshes);
        var record = Assert.Single(await fixture.VaultAsync());
        Assert.NotEqual(firstToken, record.ProtectedTokens);
        Assert.Null(record.RefreshLeaseUntil);
        Assert.True(record.ExpiresAt > DateTimeOffset.UtcNow.AddMinutes(30));
        Assert.Single(fixture.Upstream.AuthorizationHeadersSeen.Where(h => h.Length > 0).Distinct());
    }

    [Fact]
    public async Task Refresh_InvalidGrant_MarksDisconnectedAndClientGetsClear401()
    {
        await using var fixture = await UpstreamGatewayFixture.StartAsync(StaticClient);
        fixture.Upstream.FirstLifetimeSeconds = 30;
        fixture.Upstream.RefreshFailure = "invalid_grant";
        var (browser, te) = await fixture.SignInAsync();
        using var _ = browser;
        await fixture.ConnectAsync(browser);

        using var response = await fixture.InitializeAsync(te);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("invalid_grant", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.True(Assert.Single(await fixture.VaultAsync()).Disconnected);
        Assert.False((await ListingAsync(fixture, browser)).GetProperty("connected").GetBoolean());

        // Connecting again repairs it.
        fixture.Upstream.RefreshFailure = null;
        fixture.Upstream.FirstLifetimeSeconds = 3600;
        await fixture.ConnectAsync(browser);
        using var again = await fixture.InitializeAsync(te);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
    }

    [Fact]
    public async Task Refresh_ProviderOutage_Answers502AndKeepsTheRecord()
    {
        await using var fixture = await UpstreamGatewayFixture.StartAsync(StaticClient);
        fixture.Upstream.FirstLifetimeSeconds = 1;
        fixture.Upstream.RefreshFailure = "500";
        var (browser, te) = await fixture.SignInAsync();
        using var _ = browser;
        await fixture.ConnectAsync(browser);
        var stored = (await fixture.VaultAsync()).Single().ProtectedTokens;
        await Task.Delay(TimeSpan.FromMilliseconds(1200), Ct);

        using var response = await fixture.InitializeAsync(te);
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var record = Assert.Single(await fixture.VaultAsync());
        Assert.False(record.Disconnected);
        Assert.Equal(stored, record.ProtectedTokens);
        Assert.Null(record.RefreshLeaseUntil);

        // The provider is back: the kept refresh token works.
        fixture.Upstream.RefreshFailure = null;
        using var later = await fixture.InitializeAsync(te);
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
    }

    [Fact]
    public async Task Refresh_ProviderIssuesNoNewRefreshToken_OldOneIsKept()
    {
        await using var fixture = await UpstreamGatewayFixture.StartAsync(StaticClient);
        fixture.Upstream.FirstLifetimeSeconds = 30;
        fixture.Upstream.RefreshedLifetimeSeconds = 30;
        fixture.Upstream.RotateRefreshTokens = false;
        var (browser, te) = await fixture.SignInAsync();
        using var _ = browser;
        await fixture.ConnectAsync(browser);

        using (var first = await fixture.InitializeAsync(te))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        // The read cache lasts 5 s; after it the (again expiring) token is refreshed with the same refresh token.
        await Task.Delay(TimeSpan.FromSeconds(5.5), Ct);
        using var second = await fixture.InitializeAsync(te);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(2, fixture.Upstream.Refreshes);
    }

    [Fact]
    public async Task InsufficientScope_ClientGets403AndNextConnectAsksForTheWiderScope()
    {
        await using var fixture = await UpstreamGatewayFixture.StartAsync();
        fixture.Upstream.RequiredScope = "mcp:write";
        var (browser, te) = await fixture.SignInAsync();
        using var _ = browser;
        await fixture.ConnectAsync(browser);

        using var response = await fixture.InitializeAsync(te);
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("error=\"insufficient_scope\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        var record = Assert.Single(await fixture.VaultAsync());
        Assert.Contains("mcp:write", record.Scopes, StringComparison.Ordinal);

        var authorize = await fixture.BeginConnectAsync(browser);
        var scope = System.Web.HttpUtility.ParseQueryString(authorize.Query)["scope"]!.Split(' ');
        Assert.Contains("mcp:read", scope);
        Assert.Contains("mcp:write", scope);
        await UpstreamGatewayFixture.CallbackAsync(browser, await UpstreamGatewayFixture.AuthorizeAtUpstreamAsync(authorize));
        using var after = await fixture.InitializeAsync(te);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
    }

    [Fact]
    public async Task Disconnect_DeletesRecordAndRevokesAtProvider()
    {
        await using var fixture = await UpstreamGatewayFixture.StartAsync(StaticClient);
        var (browser, te) = await fixture.SignInAsync();
        using var _ = browser;
        await fixture.ConnectAsync(browser);

        using var response = await fixture.DisconnectAsync(te);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        Assert.Empty(await fixture.VaultAsync());
        Assert.StartsWith("upstream-rt-", Assert.Single(fixture.Upstream.Revoked), StringComparison.Ordinal);
        using var after = await fixture.InitializeAsync(te);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task Callback_TamperedState_IsRefused()
    {
        await using var fixture = await UpstreamGatewayFixture.StartAsync(StaticClient);
        var (browser, _) = await fixture.SignInAsync();
        using var __ = browser;
        var callback = await UpstreamGatewayFixture.AuthorizeAtUpstreamAsync(await fixture.BeginConnectAsync(browser));
        var tampered = callback.PathAndQuery.Replace("state=", "state=x", StringComparison.Ordinal);

        using var response = await browser.GetAsync(tampered);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Empty(await fixture.VaultAsync());
    }

    [Fact]
    public async Task Callback_WrongIss_IsRefusedWithConnectError()
    {
        await using var fixture = await UpstreamGatewayFixture.StartAsync(StaticClient);
        fixture.Upstream.SendCorrectIss = false;
        var (browser, _) = await fixture.SignInAsync();
        using var __ = browser;

        var back = await UpstreamGatewayFixture.CallbackAsync(browser, await UpstreamGatewayFixture.AuthorizeAtUpstreamAsync(await fixture.BeginConnectAsync(browser)));
        Assert.Equal(fixture.Origin + "/done?connect_error=iss_mismatch", back);
        Assert.Empty(await fixture.VaultAsync());
    }

    [Fact]
    public async Task Callback_AnotherBrowser_IsRefused()
    {
        await using var fixture = await UpstreamGatewayFixture.StartAsync(StaticClient);
        var (browser, _) = await fixture.SignInAsync();
        using var __ = browser;
        var callback = await UpstreamGatewayFixture.AuthorizeAtUpstreamAsync(await fixture.BeginConnectAsync(browser));

        // An attacker's link: the victim's browser is not the one that started this flow.
        using var stranger = new OAuthFlow(fixture.Gateway.BaseUri);
        var back = await UpstreamGatewayFixture.CallbackAsync(stranger, callback);
        Assert.EndsWith("connect_error=session_mismatch", back, StringComparison.Ordinal);
        Assert.Empty(await fixture.VaultAsync());
    }
}
