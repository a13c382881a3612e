using System.Net;
using System.Text.Json;
using Gatehouse.Servers.Notes.Tests.Infrastructure;
using Microsoft.AspNetCore.WebUtilities;
using ModelContextProtocol.Authentication;
using ModelContextProtocol.Client;

namespace Gatehouse.Servers.Notes.Tests;

/// <summary>
/// The C# SDK's own OAuth client against the server, with nothing configured but the MCP URL and a redirect URI:
/// the 401, protected resource metadata, authorization server metadata, registration (or a pre-registered client),
/// PKCE and the code exchange are all the SDK's. This is what Gatehouse's automatic upstream discovery does too;
/// <see cref="NotesServerOptions.AutoApproveUser"/> stands in for the user's browser.
/// </summary>
public sealed class SdkOAuthTests
{
    private const string RedirectUri = "http://127.0.0.1:47012/callback";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SdkClient_DynamicRegistration_DiscoversAuthorizesAndCallsTools()
    {
        await using var server = await NotesTestServer.StartAsync(o => o with { AutoApproveUser = "alice@example.com" });

        await using var client = await ConnectAsync(server, new ClientOAuthOptions
        {
            RedirectUri = new Uri(RedirectUri),
            DynamicClientRegistration = new DynamicClientRegistrationOptions { ClientName = "SDK test" },
            AuthorizationCallbackHandler = (context, ct) => FollowAutoApprovalAsync(server, context.AuthorizationUri, ct),
        });
        var result = await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "ernst" }, cancellationToken: Ct);

        Assert.False(result.IsError ?? false);
        var hit = Assert.Single(JsonSerializer.SerializeToElement(result.StructuredContent).GetProperty("results").EnumerateArray());
        Assert.Equal("Customer call: Ernst Handel", hit.GetProperty("title").GetString());
    }

    [Fact]
    public async Task SdkClient_PreRegisteredClientWithRegistrationOff_AuthorizesWithItsSecret()
    {
        await using var server = await NotesTestServer.StartAsync(o => o with
        {
            AutoApproveUser = "bob@example.com",
            DynamicClientRegistration = false,
            Clients = [new NotesClient { ClientId = "gatehouse", ClientSecret = "gatehouse-secret", RedirectUris = [RedirectUri] }],
        });

        await using var client = await ConnectAsync(server, new ClientOAuthOptions
        {
            RedirectUri = new Uri(RedirectUri),
            ClientId = "gatehouse",
            ClientSecret = "gatehouse-secret",
            AuthorizationCallbackHandler = (context, ct) => FollowAutoApprovalAsync(server, context.AuthorizationUri, ct),
        });
        var result = await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "deployment" }, cancellationToken: Ct);

        Assert.False(result.IsError ?? false);
        Assert.Single(JsonSerializer.SerializeToElement(result.StructuredContent).GetProperty("results").EnumerateArray());
    }

    [Fact]
    public async Task SdkClient_McpPathNotes_ResourceIsThatPathAndNotePagesStillServed()
    {
        // As behind a gateway route with prefix /notes and no rewrite: the MCP endpoint is /notes, pages /notes/{id}.
        await using var server = await NotesTestServer.StartAsync(o => o with { AutoApproveUser = "alice@example.com", McpPath = "/notes" });

        await using var client = await ConnectAsync(server, new ClientOAuthOptions
        {
            RedirectUri = new Uri(RedirectUri),
            AuthorizationCallbackHandler = (context, ct) => FollowAutoApprovalAsync(server, context.AuthorizationUri, ct),
        });
        var result = await client.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "ernst" }, cancellationToken: Ct);
        var url = JsonSerializer.SerializeToElement(result.StructuredContent).GetProperty("results")[0].GetProperty("url").GetString()!;
        using var page = await server.Http.GetAsync(url, Ct);
        using var metadata = await server.Http.GetAsync("/.well-known/oauth-protected-resource/notes", Ct);

        Assert.Equal(server.Origin + "/notes", server.McpUrl);
        Assert.Equal(server.McpUrl, JsonDocument.Parse(await metadata.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("resource").GetString());
        Assert.StartsWith(server.Origin + "/notes/", url, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, page.StatusCode);
        Assert.StartsWith("/signin", page.Headers.Location!.OriginalString, StringComparison.Ordinal);
    }

    private static Task<McpClient> ConnectAsync(NotesTestServer server, ClientOAuthOptions oauth) =>
        McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(server.McpUrl),
                TransportMode = HttpTransportMode.StreamableHttp,
                OAuth = oauth,
            }),
            cancellationToken: Ct);

    /// <summary>The browser's part: open the authorization URL and read the code from the redirect it answers with.</summary>
    private static async Task<AuthorizationResult?> FollowAutoApprovalAsync(NotesTestServer server, Uri authorizationUri, CancellationToken cancellationToken)
    {
        using var response = await server.Http.GetAsync(authorizationUri, cancellationToken);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        var query = QueryHelpers.ParseQuery(response.Headers.Location!.Query);
        // The SDK checks state and, with iss, that the response comes from the server it asked (RFC 9207).
        return new AuthorizationResult { Code = query["code"].ToString(), State = query["state"].ToString(), Iss = query["iss"].ToString() };
    }
}
