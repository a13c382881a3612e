using System.Net;
using System.Text.Json;
using Gatehouse.Cli;
using Gatehouse.Servers.Notes;
using Gatehouse.Storage;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using static Microsoft.Playwright.Assertions;

namespace Gatehouse.Tests.Browser;

/// <summary>
/// Issue 5 end to end: the Notes reference server (an MCP server that is its own OAuth authorization server, with its
/// own users) behind a route with no <c>upstream_oauth2</c>, so Gatehouse discovers its authorization server and
/// identifies itself with its Client ID Metadata Document. In Chromium, alice and bob connect Notes from the portal by
/// signing in at Notes; MCP clients holding only Gatehouse's tokens then call Notes through the gateway with each
/// user's Notes token (TI) put in by Gatehouse; an expired TI is refreshed once under 50 concurrent calls; disconnect
/// removes it. Every server is on 127.0.0.1 and stopped by the test.
/// </summary>
public sealed class UpstreamNotesTests(ChromiumFixture chromium) : BrowserTest(chromium)
{
    private const string NotesPassword = "notes password for the test";
    private const string GatewayPassword = "correct horse battery staple";
    private const string ClientId = "test-cli";
    private const string Redirect = "http://127.0.0.1/cb";

    private static readonly Lazy<string> s_passwordHash = new(() => UsersCommand.HashPassword(GatewayPassword));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly string _notesData = Directory.CreateTempSubdirectory("gatehouse-notes-").FullName;
    private WebApplication? _notes;
    private TestGateway? _gateway;

    private TestGateway Gateway => _gateway!;

    private string Resource => Gateway.BaseUri.GetLeftPart(UriPartial.Authority) + "/notes";

    private string Portal => new Uri(Gateway.BaseUri, "/.gatehouse/routes").ToString();

    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        _notes = NotesServer.Build(new NotesServerOptions
        {
            DataDirectory = _notesData,
            Urls = "http://127.0.0.1:0",
            McpPath = "/notes",
            Users = NotesServerOptions.DemoUsers(NotesPassword, NotesPassword),
            SeedNotes = new Dictionary<string, IReadOnlyList<NotesSeedNote>>
            {
                ["alice@example.com"] = [new("Alice's launch plan", "Ship the gateway on Friday.")],
                ["bob@example.com"] = [new("Bob's on-call notes", "Restart the database first.")],
            },
            // Short enough that the test sees a token expire, long enough for the browser to finish connecting.
            AccessTokenLifetime = TimeSpan.FromSeconds(20),
        }, logging => { });
        await _notes.StartAsync(Ct);
        var notesOrigin = NotesServer.GetMcpUrl(_notes).GetLeftPart(UriPartial.Authority);

        _gateway = await TestGateway.StartAsync($$"""
              - name: notes
                description: Personal notes
                from: http://127.0.0.1
                prefix: /notes
                to: {{notesOrigin}}
                mcp:
                  server: {}
            """, $$"""
            mcp_upstream_token_refresh_skew: 1s
            idp:
              provider: builtin
              users:
                - {email: alice@example.com, name: Alice, groups: [staff], password_hash: '{{s_passwordHash.Value}}'}
                - {email: bob@example.com, name: Bob, groups: [staff], password_hash: '{{s_passwordHash.Value}}'}
            clients:
              - client_id: {{ClientId}}
                redirect_uris: [{{Redirect}}]
            """);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        if (_notes is not null)
        {
            await _notes.StopAsync(CancellationToken.None);
            await _notes.DisposeAsync();
        }

        SqliteConnection.ClearAllPools();
        Directory.Delete(_notesData, recursive: true);
    }

    [Fact]
    public async Task Notes_ConnectedFromPortal_EachUserSeesOwnNotes_RefreshedOnceUnderLoad_DisconnectRemovesToken()
    {
        // alice and bob connect Notes in their own browsers: the portal's Connect, Notes' sign-in and consent, back.
        await ConnectInBrowserAsync("alice@example.com");
        await ConnectInBrowserAsync("bob@example.com");
        var stored = await VaultAsync();
        Assert.Equal(["alice@example.com", "bob@example.com"], stored.Select(t => t.Subject).Order(StringComparer.Ordinal));

        // Their MCP clients hold only Gatehouse's tokens for the route.
        await using var alice = await ConnectMcpAsync("alice@example.com");
        await using var bob = await ConnectMcpAsync("bob@example.com");
        var (aliceFound, bobFound) = (SearchAsync(alice), SearchAsync(bob));
        Assert.Equal(["Alice's launch plan"], await aliceFound);
        Assert.Equal(["Bob's on-call notes"], await bobFound);
        var created = await alice.CallToolAsync("create_note", new Dictionary<string, object?> { ["title"] = "Via Gatehouse", ["text"] = "hello" }, cancellationToken: Ct);
        Assert.NotEqual(true, created.IsError);
        Assert.DoesNotContain("Via Gatehouse", await SearchAsync(bob));

        // The vault holds the token set as a Data Protection payload (its magic header in base64), not as JSON.
        Assert.All(stored, t => Assert.StartsWith("CfDJ8", t.ProtectedTokens, StringComparison.Ordinal));
        Assert.All(stored, t => Assert.DoesNotContain("access_token", t.ProtectedTokens, StringComparison.Ordinal));

        // alice's TI expires; 50 calls at once spend her refresh token exactly once (Notes rotates refresh tokens,
        // so a second use would be a replay that revokes her grant and fails the calls).
        var aliceRecord = (await VaultAsync()).Single(t => t.Subject == "alice@example.com");
        var refreshTokensBefore = CountNotesRefreshTokens("alice@example.com");
        await WaitUntilExpiredAsync(aliceRecord.ExpiresAt);
        var calls = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => SearchAsync(alice)));
        Assert.All(calls, found => Assert.Contains("Alice's launch plan", found));
        Assert.Equal(refreshTokensBefore + 1, CountNotesRefreshTokens("alice@example.com"));

        // alice disconnects in the portal: her token is gone, her client is told to authorize again, bob is unaffected.
        var page = await SignedInPortalAsync("alice@example.com");
        var card = page.Locator("div.card[data-server=notes]");
        await card.GetByRole(AriaRole.Button, new() { Name = "Disconnect" }).ClickAsync();
        await Expect(page.Locator("div.card[data-server=notes]").GetByRole(AriaRole.Link, new() { Name = "Connect" })).ToBeVisibleAsync();
        Assert.Equal(["bob@example.com"], (await VaultAsync()).Select(t => t.Subject));
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => SearchAsync(alice));
        Assert.Contains("401", refused.ToString(), StringComparison.Ordinal);
        Assert.Equal(["Bob's on-call notes"], await SearchAsync(bob));
        AssertNoConsoleErrors();
    }

    private async Task ConnectInBrowserAsync(string email)
    {
        var page = await SignedInPortalAsync(email);
        var card = page.Locator("div.card[data-server=notes]");
        await Expect(card).ToContainTextAsync("Personal notes");
        await card.GetByRole(AriaRole.Link, new() { Name = "Connect" }).ClickAsync();

        // Notes' own pages: its sign-in (its users, its passwords), then its consent for Gatehouse.
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(NotesPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Allow" }).ClickAsync();

        await Expect(page).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("^" + System.Text.RegularExpressions.Regex.Escape(Portal)));
        await Expect(page.Locator("div.card[data-server=notes]")).ToContainTextAsync("Connected");
        await SaveScreenshotAsync(page, "portal-notes-connected-" + email.Split('@')[0]);
    }

    private async Task<IPage> SignedInPortalAsync(string email)
    {
        var page = await NewPageAsync();
        await page.GotoAsync(Portal);
        await Expect(page).ToHaveTitleAsync("Sign in · Gatehouse");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(GatewayPassword);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Expect(page).ToHaveTitleAsync("Your MCP servers · Gatehouse");
        return page;
    }

    private async Task<McpClient> ConnectMcpAsync(string email)
    {
        using var flow = new OAuthFlow(Gateway.BaseUri);
        var tokens = await flow.GetTokensAsync(ClientId, Redirect, Resource, email, GatewayPassword);
        Assert.NotNull(tokens.AccessToken);
        return await TestMcpServer.ConnectAsync(new Uri(Resource), headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + tokens.AccessToken });
    }

    /// <summary>The titles Notes' <c>search</c> tool returns for the caller.</summary>
    private static async Task<List<string>> SearchAsync(McpClient client)
    {
        var result = await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "" }, cancellationToken: Ct);
        Assert.NotEqual(true, result.IsError);
        var text = Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
        return [.. JsonDocument.Parse(text).RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("title").GetString()!)];
    }

    private async Task<List<Gatehouse.Upstream.UpstreamToken>> VaultAsync()
    {
        await using var scope = Gateway.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        return await db.UpstreamTokens.AsNoTracking().Where(t => t.RouteId == "notes").ToListAsync(Ct);
    }

    /// <summary>Refresh tokens Notes' authorization server has issued to Gatehouse for the user (OpenIddict's table).</summary>
    private long CountNotesRefreshTokens(string email)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_notesData, "notes.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM OpenIddictTokens WHERE Type = 'urn:ietf:params:oauth:token-type:refresh_token' AND Subject = $subject";
        command.Parameters.AddWithValue("$subject", email);
        return (long)command.ExecuteScalar()!;
    }

    private static async Task WaitUntilExpiredAsync(DateTimeOffset? expiresAt)
    {
        Assert.NotNull(expiresAt);
        var wait = expiresAt.Value - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(500);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, Ct);
        }
    }
}
