using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.Cli;
using Gatehouse.Storage;
using Gatehouse.Tests.Authorization;
using Gatehouse.Tests.Infrastructure;
using Gatehouse.Upstream;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Tests.Upstream;

/// <summary>
/// A gateway in front of <see cref="UpstreamOAuthServer"/>: route <c>/mcp</c> (the MCP server with its own OAuth) and
/// route <c>/app</c> (a client route whose app receives the user's TE), with the built-in user alice.
/// </summary>
internal sealed class UpstreamGatewayFixture : IAsyncDisposable
{
    private static readonly string s_hash = UsersCommand.HashPassword(AuthorizationServerHost.Password);

    private readonly List<TestGateway> _replicas = [];
    private readonly string _routes;
    private readonly string _topLevel;

    private UpstreamGatewayFixture(UpstreamOAuthServer upstream, TestGateway gateway, string routes, string topLevel)
    {
        Upstream = upstream;
        Gateway = gateway;
        _routes = routes;
        _topLevel = topLevel;
    }

    public UpstreamOAuthServer Upstream { get; }

    public TestGateway Gateway { get; }

    public string Origin => Gateway.BaseUri.GetLeftPart(UriPartial.Authority);

    public string McpUrl => Origin + "/mcp";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <param name="serverYaml">What goes under <c>mcp.server</c> (indented 8 spaces), or <c>{}</c> for discovery.</param>
    public static async Task<UpstreamGatewayFixture> StartAsync(string serverYaml = "        {}", string metadataLayout = "path", string? extraTopLevel = null)
    {
        var upstream = await UpstreamOAuthServer.StartAsync(metadataLayout);
        var routes = $$"""
              - name: app
                from: http://127.0.0.1
                prefix: /app
                to: {{upstream.Origin}}
                mcp:
                  client: {}
              - name: Notes
                from: http://127.0.0.1
                prefix: /mcp
                to: {{upstream.Origin}}
                mcp:
                  server:
            {{serverYaml.Replace("{ORIGIN}", upstream.Origin, StringComparison.Ordinal)}}
            """;
        var topLevel = $$"""
            idp:
              provider: builtin
              users:
                - {email: alice@example.com, name: Alice, groups: [sales], password_hash: {{s_hash}}}
            {{extraTopLevel}}
            """;
        var gateway = await TestGateway.StartAsync(routes, topLevel);
        return new UpstreamGatewayFixture(upstream, gateway, routes, topLevel);
    }

    /// <summary>Another gateway with the same configuration (and so the same storage, when it is named): a replica.</summary>
    public async Task<TestGateway> StartReplicaAsync()
    {
        var replica = await TestGateway.StartAsync(_routes, _topLevel);
        _replicas.Add(replica);
        return replica;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }

        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }

    /// <summary>Signs alice in and returns her browser and the TE the app behind <c>/app</c> receives.</summary>
    public async Task<(OAuthFlow Browser, string Te)> SignInAsync(TestGateway? gateway = null)
    {
        var flow = new OAuthFlow((gateway ?? Gateway).BaseUri);
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);
        using var response = await flow.GetAsync("/app/");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var headers = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct)).RootElement;
        return (flow, headers.GetProperty("authorization").GetString()!["Bearer ".Length..]);
    }

    /// <summary>Starts connecting through the routes API: the upstream authorization URL it redirects to.</summary>
    public async Task<Uri> BeginConnectAsync(OAuthFlow browser)
    {
        using var response = await browser.GetAsync($"/.gatehouse/mcp/connect?redirect_url={Uri.EscapeDataString(Origin + "/done")}&server={Uri.EscapeDataString(McpUrl)}");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return response.Headers.Location!;
    }

    /// <summary>The upstream's authorization endpoint answers at once: where it sends the browser back.</summary>
    public static async Task<Uri> AuthorizeAtUpstreamAsync(Uri authorizationUrl)
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false });
        using var response = await http.GetAsync(authorizationUrl, Ct);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return response.Headers.Location!;
    }

    /// <summary>Follows the callback in the user's browser: where Gatehouse sends it afterwards.</summary>
    public static async Task<string> CallbackAsync(OAuthFlow browser, Uri callback)
    {
        using var response = await browser.GetAsync(callback.PathAndQuery);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return response.Headers.Location!.ToString();
    }

    /// <summary>The whole connect flow; asserts it came back without an error.</summary>
    public async Task ConnectAsync(OAuthFlow browser)
    {
        var back = await CallbackAsync(browser, await AuthorizeAtUpstreamAsync(await BeginConnectAsync(browser)));
        Assert.Equal(Origin + "/done", back);
    }

    public async Task<HttpResponseMessage> InitializeAsync(string te, TestGateway? gateway = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp")
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", te);
        return await (gateway ?? Gateway).Client.SendAsync(request, Ct);
    }

    /// <summary>The routes API's disconnect, as the app behind a client route calls it with its TE.</summary>
    public async Task<HttpResponseMessage> DisconnectAsync(string te)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/.gatehouse/mcp/routes/disconnect")
        {
            Content = new StringContent($$"""{"routes":["{{McpUrl}}"]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", te);
        return await Gateway.Client.SendAsync(request, Ct);
    }

    public async Task<List<UpstreamToken>> VaultAsync()
    {
        using var scope = Gateway.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        return await db.UpstreamTokens.AsNoTracking().ToListAsync(Ct);
    }
}
