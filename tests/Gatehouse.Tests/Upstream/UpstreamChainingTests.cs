using System.Net;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Upstream;

/// <summary>
/// Seed 001 steps 1-9: an MCP client authorizes at Gatehouse for a server whose upstream has its own OAuth; the user
/// goes through the upstream's consent in the middle of Gatehouse's authorization and comes back to finish it, and
/// the client's TE then reaches the upstream as the user's TI.
/// </summary>
public sealed class UpstreamChainingTests
{
    private const string Client = "test-cli";
    private const string Redirect = "http://127.0.0.1/cb";

    private const string Clients = $"""
        clients:
          - client_id: {Client}
            name: Test CLI
            redirect_uris: [{Redirect}]
        """;

    /// <summary>Seed 001's route: <c>upstream_oauth2</c> with a client registered at the provider.</summary>
    private const string StaticClient = $"""
                upstream_oauth2:
                  client_id: {UpstreamOAuthServer.ClientId}
                  client_secret: {UpstreamOAuthServer.ClientSecret}
        """;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Authorize_UpstreamNotConnected_DetoursThroughUpstreamConsentThenIssuesTheCode(bool configured)
    {
        // Without upstream_oauth2, the authorization endpoint finds out from the upstream's RFC 9728 metadata, on a
        // gateway that has never sent the upstream anything: the client's very first authorization chains too.
        await using var fixture = await UpstreamGatewayFixture.StartAsync(configured ? StaticClient : "        {}", extraTopLevel: Clients);
        var (browser, _) = await fixture.SignInAsync();
        using var __ = browser;
        var pkce = Pkce.Create();
        var query = OAuthFlow.AuthorizeQuery(Client, Redirect, pkce, fixture.McpUrl);

        // Steps 3-4: sign-in (done) and consent at Gatehouse; then off to the upstream's authorization server.
        using var consentPage = await browser.GetAsync(query);
        Assert.Equal(HttpStatusCode.OK, consentPage.StatusCode);
        var fields = OAuthFlow.HiddenFields(await consentPage.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        fields.Add(new("gatehouse_consent", "allow"));
        using var consented = await browser.PostFormAsync("/.gatehouse/oauth/authorize", fields);
        Assert.Equal(HttpStatusCode.Redirect, consented.StatusCode);
        var upstreamAuthorize = consented.Headers.Location!;
        Assert.StartsWith(fixture.Upstream.Origin + "/authorize?", upstreamAuthorize.AbsoluteUri, StringComparison.Ordinal);

        // Step 5: the upstream returns to Gatehouse, which stores the TI and resumes the same authorization.
        var resume = await UpstreamGatewayFixture.CallbackAsync(browser, await UpstreamGatewayFixture.AuthorizeAtUpstreamAsync(upstreamAuthorize));
        Assert.StartsWith("/.gatehouse/oauth/authorize?", resume, StringComparison.Ordinal);
        Assert.Single(await fixture.VaultAsync());

        // Steps 6-7: the client gets its code and TE.
        using var finished = await browser.GetAsync(resume);
        var redirect = OAuthFlow.Redirect(finished);
        Assert.NotNull(redirect.Code);
        Assert.Equal("state-123", redirect.State);
        var tokens = await browser.ExchangeCodeAsync(redirect.Code!, pkce, Client, Redirect, fixture.McpUrl);
        Assert.NotNull(tokens.AccessToken);

        // Steps 8-9: TE in, TI out.
        using var response = await fixture.InitializeAsync(tokens.AccessToken!);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("Bearer upstream-at-", fixture.Upstream.AuthorizationHeadersSeen.Last(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorize_UpstreamConnectFails_ClientGetsAccessDenied()
    {
        await using var fixture = await UpstreamGatewayFixture.StartAsync(StaticClient, extraTopLevel: Clients);
        fixture.Upstream.SendCorrectIss = false;
        var (browser, _) = await fixture.SignInAsync();
        using var __ = browser;
        var query = OAuthFlow.AuthorizeQuery(Client, Redirect, Pkce.Create(), fixture.McpUrl);

        using var consentPage = await browser.GetAsync(query);
        var fields = OAuthFlow.HiddenFields(await consentPage.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        fields.Add(new("gatehouse_consent", "allow"));
        using var consented = await browser.PostFormAsync("/.gatehouse/oauth/authorize", fields);
        var resume = await UpstreamGatewayFixture.CallbackAsync(browser, await UpstreamGatewayFixture.AuthorizeAtUpstreamAsync(consented.Headers.Location!));
        Assert.Contains("connect_error=iss_mismatch", resume, StringComparison.Ordinal);

        using var finished = await browser.GetAsync(resume);
        var redirect = OAuthFlow.Redirect(finished);
        Assert.Equal("access_denied", redirect.Error);
        Assert.Empty(await fixture.VaultAsync());
    }
}
