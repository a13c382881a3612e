using System.Net.Http.Headers;
using Gatehouse.Servers.Notes.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Servers.Notes.Tests.Infrastructure;

/// <summary>
/// The real server, built through <see cref="NotesServer.Build"/> on 127.0.0.1:0 with a data directory of its own,
/// with the demo users alice and bob (passwords below) and no reuse leeway for refresh tokens, so that a replay is
/// detected at once rather than after 30 seconds.
/// </summary>
internal sealed class NotesTestServer : IAsyncDisposable
{
    public const string AlicePassword = "alice-correct-horse";
    public const string BobPassword = "bob-battery-staple";

    private readonly TempDirectory? _ownedDirectory;

    private NotesTestServer(WebApplication app, TempDirectory? ownedDirectory)
    {
        App = app;
        _ownedDirectory = ownedDirectory;
        Origin = new Uri(app.Urls.Single()).GetLeftPart(UriPartial.Authority);
        Http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(Origin) };
    }

    public WebApplication App { get; }

    /// <summary>http://127.0.0.1:PORT</summary>
    public string Origin { get; }

    public string Issuer => Origin + "/";

    public string McpUrl => NotesServer.GetMcpUrl(App).ToString();

    /// <summary>A client of the server's APIs: no cookies, redirects not followed.</summary>
    public HttpClient Http { get; }

    public NotesKeys Keys => App.Services.GetRequiredService<NotesKeys>();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Starts a server; <paramref name="configure"/> may change the options the tests start from.</summary>
    public static async Task<NotesTestServer> StartAsync(Func<NotesServerOptions, NotesServerOptions>? configure = null, string? dataDirectory = null)
    {
        var owned = dataDirectory is null ? new TempDirectory() : null;
        var options = new NotesServerOptions
        {
            DataDirectory = dataDirectory ?? owned!.Path,
            Urls = "http://127.0.0.1:0",
            Users = NotesServerOptions.DemoUsers(AlicePassword, BobPassword),
            RefreshTokenReuseLeeway = TimeSpan.Zero,
        };
        options = configure?.Invoke(options) ?? options;
        var app = NotesServer.Build(options, logging => logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync(Ct);
        return new NotesTestServer(app, owned);
    }

    public Browser NewBrowser() => new(new Uri(Origin));

    /// <summary>
    /// Tokens for <paramref name="email"/> through the whole flow, as a user and a new public client would do it:
    /// registration, sign-in, consent, code with PKCE, exchange.
    /// </summary>
    public async Task<TokenResponse> TokensForAsync(string email, string scope = "notes:read notes:write") =>
        (await AuthorizeNewClientAsync(email, scope)).Tokens;

    /// <summary>As <see cref="TokensForAsync"/>, with the client, for tests that go on to refresh or revoke.</summary>
    public async Task<(OAuthClient Client, TokenResponse Tokens)> AuthorizeNewClientAsync(string email, string scope = "notes:read notes:write")
    {
        var client = await OAuthClient.RegisterAsync(this);
        using var browser = NewBrowser();
        await browser.SignInAsync(email, email.StartsWith("alice", StringComparison.Ordinal) ? AlicePassword : BobPassword);
        var request = client.NewRequest(scope: scope);
        var response = await browser.AuthorizeAsync(request.Url);
        var tokens = await client.RedeemAsync(response.Code!, request.Verifier);
        Assert.True(tokens.AccessToken is not null, tokens.ToString());
        return (client, tokens);
    }

    /// <summary>An MCP client (the C# SDK's) that sends <paramref name="accessToken"/> as a bearer token.</summary>
    public Task<McpClient> ConnectAsync(string accessToken) =>
        McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(McpUrl),
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + accessToken },
            }),
            cancellationToken: Ct);

    /// <summary>
    /// A raw JSON-RPC POST to the MCP endpoint, as a client would send it: to the bound address, as a proxy that
    /// serves the public URL would.
    /// </summary>
    public async Task<HttpResponseMessage> PostMcpAsync(string json, string? accessToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(McpUrl).AbsolutePath) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        request.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        if (accessToken is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        }

        return await Http.SendAsync(request, Ct);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
        _ownedDirectory?.Dispose();
    }
}

internal static class CallToolResultExtensions
{
    public static string Text(this CallToolResult result) => Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;
}
