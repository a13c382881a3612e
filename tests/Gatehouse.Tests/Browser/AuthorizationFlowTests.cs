using System.Net;
using System.Text.Encodings.Web;
using System.Text.RegularExpressions;
using Gatehouse.Cli;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Playwright;
using ModelContextProtocol.Protocol;
using static Microsoft.Playwright.Assertions;

namespace Gatehouse.Tests.Browser;

/// <summary>
/// The authorization flow as a person sees it, in Chromium: the sign-in page, the consent page and the connected-apps
/// page of the real gateway (on 127.0.0.1, plain HTTP: Chromium stores and sends the <c>Secure</c> session cookie
/// to http://127.0.0.1, a potentially trustworthy origin), in front of a real MCP server, for an OAuth client whose
/// redirect URI is a loopback listener. Each test starts its own gateway, database, MCP server and client.
/// </summary>
public sealed partial class AuthorizationFlowTests(ChromiumFixture chromium) : BrowserTest(chromium)
{
    private const string Email = "alice@example.com";
    private const string Password = "correct horse battery staple";
    private const string ClientName = "Test CLI";
    private const string SessionCookie = "__Host-gatehouse_session";

    private static readonly Lazy<string> s_passwordHash = new(() => UsersCommand.HashPassword(Password));

    private TestUpstream? _mcpServer;
    private LoopbackOAuthClient? _client;
    private TestGateway? _gateway;

    private TestGateway Gateway => _gateway!;

    private LoopbackOAuthClient Client => _client!;

    /// <summary>The MCP server's canonical URI, as a client names it in <c>resource</c>.</summary>
    private string Resource => Gateway.BaseUri.GetLeftPart(UriPartial.Authority) + "/northwind";

    public override async ValueTask InitializeAsync()
    {
        _mcpServer = await TestMcpServer.StartAsync("/northwind");
        _client = await LoopbackOAuthClient.StartAsync("test-cli");
        _gateway = await TestGateway.StartAsync($$"""
              - name: northwind
                description: Sales database
                from: http://127.0.0.1
                prefix: /northwind
                to: {{_mcpServer.Origin}}
                mcp:
                  server: {}
            """, $$"""
            idp:
              provider: builtin
              users: [{email: {{Email}}, name: Alice, groups: [sales], password_hash: '{{s_passwordHash.Value}}'}]
            clients:
              - client_id: test-cli
                name: {{ClientName}}
                redirect_uris: [http://127.0.0.1/cb]
            """);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        var errors = _gateway?.Logs.UnexpectedErrors.ToList() ?? [];
        foreach (var server in new IAsyncDisposable?[] { _gateway, _client, _mcpServer })
        {
            if (server is not null)
            {
                await server.DisposeAsync();
            }
        }

        // Whatever the browser saw, the gateway must not have failed on any request (an unhandled exception is a 500).
        Assert.Empty(errors);
    }

    [Fact]
    public async Task Authorize_SignInThenAllow_CodeRedeemsForTokenThatCallsTheMcpServer()
    {
        var (page, request) = await StartSignedInAsync();

        await Expect(page).ToHaveTitleAsync("Allow access? · Gatehouse");
        var consent = page.Locator("body");
        await Expect(consent).ToContainTextAsync($"{ClientName} wants to use these MCP servers as you, {Email}");
        await Expect(page.GetByRole(AriaRole.Listitem).Filter(new() { HasText = Resource })).ToContainTextAsync("northwind — Sales database");
        await Expect(consent).ToContainTextAsync($"you will be sent to {Client.RedirectUri.Authority}.");
        await SaveScreenshotAsync(page, "consent");
        await page.GetByRole(AriaRole.Button, new() { Name = "Allow" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(AtClient());
        var code = await NextCodeAsync(request);

        // What Chromium did with the session cookie: kept it from plain http://127.0.0.1 with its attributes intact (and
        // sent it back: the authorization endpoint knew the user after sign-in).
        var session = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == SessionCookie);
        Assert.True(session.Secure && session.HttpOnly && session.SameSite == SameSiteAttribute.Lax);

        var tokens = await Client.RedeemAsync(Gateway.Client, request, code);
        await using var mcp = await TestMcpServer.ConnectAsync(new Uri(Resource), headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + tokens.AccessToken });
        var result = await mcp.CallToolAsync("echo", new Dictionary<string, object?> { ["message"] = "from the browser flow" }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("from the browser flow", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Authorize_Deny_RedirectsWithAccessDeniedAndState()
    {
        var (page, request) = await StartSignedInAsync();

        await page.GetByRole(AriaRole.Button, new() { Name = "Deny" }).ClickAsync();

        var redirect = await Client.NextRedirectAsync();
        Assert.Equal("access_denied", redirect["error"]);
        Assert.Equal(request.State, redirect["state"]);
        Assert.Equal(Gateway.BaseUri.ToString(), redirect["iss"]);
        Assert.False(redirect.ContainsKey("code"));
        await Expect(page).ToHaveURLAsync(AtClient());
        AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Authorize_SameClientAgain_ConsentRememberedStraightToRedirect()
    {
        var (page, _) = await AuthorizeAsync();

        var second = Client.NewRequest(Gateway.BaseUri, Resource);
        var response = await page.GotoAsync(second.Url);

        // One hop: the authorization endpoint answered with the redirect itself, no consent page in between.
        Assert.NotNull(response);
        Assert.StartsWith(Client.RedirectUri.ToString(), response.Url, StringComparison.Ordinal);
        Assert.Equal(second.Url, response.Request.RedirectedFrom?.Url);
        Assert.Null(response.Request.RedirectedFrom?.RedirectedFrom);
        await NextCodeAsync(second);
        AssertNoConsoleErrors();
    }

    /// <summary>
    /// Chromium enforces CSP <c>form-action</c> on every redirect that follows a form post, so the sign-in form of a
    /// signed-out user whose consent is remembered must be allowed to end at the client: sign-in POST, 302 to the
    /// authorization endpoint, 302 to the client's redirect URI.
    /// </summary>
    [Fact]
    public async Task SignIn_ConsentAlreadyGiven_SignInPostEndsAtClientRedirect()
    {
        await AuthorizeAsync();

        var (page, request) = await StartSignedInAsync();

        await NextCodeAsync(request);
        await Expect(page).ToHaveURLAsync(AtClient());
        AssertNoConsoleErrors();
    }

    [Fact]
    public async Task ConsentPage_FramedByAnotherOrigin_NotRendered()
    {
        var (page, request) = await StartSignedInAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Allow" })).ToBeVisibleAsync();

        var framingPage = $"""<!DOCTYPE html><title>Framer</title><link rel="icon" href="data:,"><iframe src="{HtmlEncoder.Default.Encode(request.Url)}" width="600" height="400"></iframe>""";
        await using var framer = await TestUpstream.StartAsync(app => app.MapGet("/", () => Results.Content(framingPage, "text/html; charset=utf-8")));
        var consentResponse = page.WaitForResponseAsync(r => r.Url == request.Url);
        var blocked = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
        page.RequestFailed += (_, r) =>
        {
            if (r.Url == request.Url)
            {
                blocked.TrySetResult(r.Failure);
            }
        };
        var refusal = page.WaitForConsoleMessageAsync(new() { Predicate = m => m.Text.Contains("frame-ancestors 'none'", StringComparison.Ordinal) });
        await page.GotoAsync(framer.BaseUri.ToString());

        // The gateway did answer the framed request with the consent page (the user is signed in and the cookie went
        // along); Chromium refused to render it.
        var response = await consentResponse;
        Assert.Equal((int)HttpStatusCode.OK, response.Status);
        Assert.Equal("DENY", await response.HeaderValueAsync("x-frame-options"));
        Assert.Equal("net::ERR_BLOCKED_BY_RESPONSE", await blocked.Task.WaitAsync(TimeSpan.FromSeconds(15), TestContext.Current.CancellationToken));
        await refusal;
        var frame = Assert.Single(page.Frames, f => f != page.MainFrame);
        Assert.NotEqual(request.Url, frame.Url);
        Assert.Equal(0, await frame.Locator("form, input[name=gatehouse_consent], button[name=gatehouse_consent]").CountAsync());
        Assert.DoesNotContain("Allow access?", await frame.ContentAsync(), StringComparison.Ordinal);
        Assert.False(Client.HasUnreadRedirect);
        await SaveScreenshotAsync(page, "framed");
    }

    [Fact]
    public async Task ConnectedApps_Revoke_RemovesAppAndRefreshTokenFailsWithInvalidGrant()
    {
        var (page, tokens) = await AuthorizeAsync();
        Assert.NotNull(tokens.RefreshToken);

        // The refresh token works before the revocation (and rotates).
        using (var refreshed = await Client.RefreshAsync(Gateway.Client, tokens.RefreshToken))
        {
            tokens = await IssuedTokens.ReadSuccessAsync(refreshed);
        }

        await page.GotoAsync(new Uri(Gateway.BaseUri, "/.gatehouse/apps").ToString());
        var app = page.Locator("li.app").Filter(new() { HasText = ClientName });
        await Expect(app).ToHaveCountAsync(1);
        await Expect(app).ToContainTextAsync("test-cli");
        await Expect(app).ToContainTextAsync(Resource);
        await SaveScreenshotAsync(page, "connected-apps");

        await app.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(new Uri(Gateway.BaseUri, "/.gatehouse/apps").ToString());
        await Expect(page.Locator("li.app")).ToHaveCountAsync(0);
        await Expect(page.Locator("body")).ToContainTextAsync($"{Email}: no application can use your MCP servers.");
        using var refused = await Client.RefreshAsync(Gateway.Client, tokens.RefreshToken!);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("invalid_grant", await IssuedTokens.ReadErrorAsync(refused));
        AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Portal_ShowsServersAndApps_CopyWorksAndRevokeReturnsToPortal()
    {
        var (page, tokens) = await AuthorizeAsync();
        var portal = new Uri(Gateway.BaseUri, "/.gatehouse/routes").ToString();
        await page.Context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"], new() { Origin = Gateway.BaseUri.GetLeftPart(UriPartial.Authority) });

        await page.GotoAsync(portal);

        await Expect(page).ToHaveTitleAsync("Your MCP servers · Gatehouse");
        var card = page.Locator("div.card[data-server=northwind]");
        await Expect(card).ToContainTextAsync("Sales database");
        await Expect(card).ToContainTextAsync("Ready: no separate sign-in needed.");
        await Expect(card.GetByRole(AriaRole.Textbox)).ToHaveValueAsync(Resource);
        // The Copy button appears only when the page's (nonce'd) script ran under its CSP.
        await card.GetByRole(AriaRole.Button, new() { Name = "Copy" }).ClickAsync();
        await Expect(card.GetByRole(AriaRole.Button, new() { Name = "Copied" })).ToBeVisibleAsync();
        Assert.Equal(Resource, await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        var app = page.Locator("div.card").Filter(new() { HasText = ClientName });
        await Expect(app).ToContainTextAsync("for 1 server(s)");
        await SaveScreenshotAsync(page, "portal");

        await app.GetByRole(AriaRole.Button, new() { Name = "Revoke" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(portal);
        await Expect(page.Locator("body")).ToContainTextAsync("No application can use your MCP servers.");
        using var refused = await Client.RefreshAsync(Gateway.Client, tokens.RefreshToken!);
        Assert.Equal("invalid_grant", await IssuedTokens.ReadErrorAsync(refused));
        AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Portal_SignedOut_SentToSignInThenShown()
    {
        var page = await NewPageAsync();

        await page.GotoAsync(new Uri(Gateway.BaseUri, "/.gatehouse/routes").ToString());
        await SignInAsync(page, Password);

        await Expect(page).ToHaveURLAsync(new Uri(Gateway.BaseUri, "/.gatehouse/routes").ToString());
        await Expect(page.Locator("body")).ToContainTextAsync($"Signed in as {Email}");
        await Expect(page.Locator("div.card[data-server=northwind]")).ToHaveCountAsync(1);
        AssertNoConsoleErrors();
    }

    [Fact]
    public async Task SignIn_WrongPasswordWithoutJavaScript_ShowsErrorThenRightPasswordCompletesFlow()
    {
        var page = await NewPageAsync(new BrowserNewContextOptions { JavaScriptEnabled = false });
        var request = Client.NewRequest(Gateway.BaseUri, Resource);
        await page.GotoAsync(request.Url);

        await SignInAsync(page, "not the password");

        await Expect(page.GetByRole(AriaRole.Alert)).ToHaveTextAsync("Wrong email or password.");
        await Expect(page.GetByLabel("Email")).ToHaveValueAsync(Email);
        await Expect(page).ToHaveTitleAsync("Sign in · Gatehouse");
        await SaveScreenshotAsync(page, "wrong-password");
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == SessionCookie);

        await SignInAsync(page, Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Allow" }).ClickAsync();

        await Client.RedeemAsync(Gateway.Client, request, await NextCodeAsync(request));
    }

    /// <summary>
    /// A new browser starts a new authorization request, is sent to the sign-in page and signs in; it is then on the
    /// consent page, or already at the client when the consent is remembered.
    /// </summary>
    private async Task<(IPage Page, AuthorizationRequest Request)> StartSignedInAsync()
    {
        var page = await NewPageAsync();
        var request = Client.NewRequest(Gateway.BaseUri, Resource);
        await page.GotoAsync(request.Url);
        await Expect(page).ToHaveURLAsync(SignInUrl());
        await SignInAsync(page, Password);
        return (page, request);
    }

    /// <summary>A whole first authorization in a new browser: sign-in, Allow, code, tokens.</summary>
    private async Task<(IPage Page, IssuedTokens Tokens)> AuthorizeAsync()
    {
        var (page, request) = await StartSignedInAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Allow" }).ClickAsync();
        return (page, await Client.RedeemAsync(Gateway.Client, request, await NextCodeAsync(request)));
    }

    /// <summary>
    /// The code of the next successful authorization response the client receives, checked as a client must: the
    /// same <c>state</c> (OAuth 2.1 §4.1.2) and this server as <c>iss</c> (RFC 9207 §2.4).
    /// </summary>
    private async Task<string> NextCodeAsync(AuthorizationRequest request)
    {
        var redirect = await Client.NextRedirectAsync();
        Assert.False(redirect.ContainsKey("error"), redirect.GetValueOrDefault("error_description"));
        Assert.Equal(request.State, redirect["state"]);
        Assert.Equal(Gateway.BaseUri.ToString(), redirect["iss"]);
        return redirect["code"];
    }

    private static async Task SignInAsync(IPage page, string password)
    {
        await Expect(page).ToHaveTitleAsync("Sign in · Gatehouse");
        await page.GetByLabel("Email").FillAsync(Email);
        await page.GetByLabel("Password").FillAsync(password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
    }

    /// <summary>The client's redirect URI with a query: where the browser ends when the flow is over.</summary>
    private Regex AtClient() => new("^" + Regex.Escape(Client.RedirectUri.ToString()) + @"\?");

    [GeneratedRegex(@"/\.gatehouse/sign_in\?redirect_uri=%2F\.gatehouse%2Foauth%2Fauthorize%3F")]
    private static partial Regex SignInUrl();
}
