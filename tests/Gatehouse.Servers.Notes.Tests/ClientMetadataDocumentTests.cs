using System.Net;
using System.Text.Json;
using Gatehouse.Servers.Notes.Authorization;
using Gatehouse.Servers.Notes.Tests.Infrastructure;

namespace Gatehouse.Servers.Notes.Tests;

/// <summary>
/// Client ID Metadata Documents (MCP authorization 2025-11-25): a client id that is the URL of the client's metadata,
/// fetched by the server during authorization. The client's site is a second Kestrel on loopback, which a loopback-only
/// Notes server accepts over http.
/// </summary>
public sealed class ClientMetadataDocumentTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CodeFlow_ClientIdMetadataDocument_TheUrlIsTheClientIdAndTheToolsWork()
    {
        // The C# SDK's client takes https document URLs only, so the flow is driven by hand, as OAuthClient does it.
        await using var site = await MetadataDocumentHost.StartAsync();
        await using var server = await NotesTestServer.StartAsync(o => o with { AutoApproveUser = "alice@example.com", DynamicClientRegistration = false });
        var client = new OAuthClient(server, site.ClientId, MetadataDocumentHost.RedirectUri);
        var request = client.NewRequest();

        using var response = await server.Http.GetAsync(request.Url, Ct);
        var redirect = AuthorizationResponse.From(response);
        var tokens = await client.RedeemAsync(redirect.Code!, request.Verifier);
        await using var mcp = await server.ConnectAsync(tokens.AccessToken!);
        var result = await mcp.CallToolAsync("search", new Dictionary<string, object?> { ["query"] = "ernst" }, cancellationToken: Ct);

        Assert.Equal(1, site.Requests);
        Assert.Equal(site.ClientId, tokens.Jwt.GetClaim("client_id").Value);
        Assert.False(result.IsError ?? false);
        Assert.Single(JsonSerializer.SerializeToElement(result.StructuredContent).GetProperty("results").EnumerateArray());
        Assert.Equal(HttpStatusCode.OK, (await client.RefreshAsync(tokens.RefreshToken!)).Status);
    }

    [Fact]
    public async Task Metadata_MetadataDocumentsOn_Advertised()
    {
        await using var server = await NotesTestServer.StartAsync();

        using var metadata = await server.Http.GetAsync("/.well-known/oauth-authorization-server", Ct);

        Assert.True(JsonDocument.Parse(await metadata.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("client_id_metadata_document_supported").GetBoolean());
    }

    [Fact]
    public async Task Authorize_MetadataDocumentNamesAnotherClientId_ErrorPageAndNoRedirect()
    {
        await using var site = await MetadataDocumentHost.StartAsync();
        site.Change = d => d["client_id"] = "https://impostor.example.com/client.json";
        await using var server = await NotesTestServer.StartAsync(o => o with { AutoApproveUser = "alice@example.com" });
        var client = new OAuthClient(server, site.ClientId, MetadataDocumentHost.RedirectUri);

        using var response = await server.Http.GetAsync(client.NewRequest().Url, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Contains("its client_id is not its own URL", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Authorize_RedirectUriNotInTheDocument_ErrorPageAndNoRedirect()
    {
        await using var site = await MetadataDocumentHost.StartAsync();
        await using var server = await NotesTestServer.StartAsync(o => o with { AutoApproveUser = "alice@example.com" });
        var client = new OAuthClient(server, site.ClientId, MetadataDocumentHost.RedirectUri);

        using var response = await server.Http.GetAsync(client.NewRequest(redirect: "https://evil.example.com/callback").Url, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task Authorize_MetadataDocumentsOff_UrlIsAnUnknownClient()
    {
        await using var site = await MetadataDocumentHost.StartAsync();
        await using var server = await NotesTestServer.StartAsync(o => o with { AutoApproveUser = "alice@example.com", ClientIdMetadataDocuments = false });
        var client = new OAuthClient(server, site.ClientId, MetadataDocumentHost.RedirectUri);

        using var response = await server.Http.GetAsync(client.NewRequest().Url, Ct);
        using var metadata = await server.Http.GetAsync("/.well-known/oauth-authorization-server", Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, site.Requests);
        Assert.False(JsonDocument.Parse(await metadata.Content.ReadAsStringAsync(Ct)).RootElement.TryGetProperty("client_id_metadata_document_supported", out _));
    }

    [Theory]
    [InlineData("8.8.8.8", true)]
    [InlineData("2001:4860:4860::8888", true)]
    [InlineData("127.0.0.1", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.20.0.1", false)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    public void IsPublic_Address_OnlyPublicAddressesAreFetched(string address, bool expected) =>
        Assert.Equal(expected, ClientMetadataFetcher.IsPublic(IPAddress.Parse(address)));

    [Theory]
    [InlineData("https://app.example.com/client.json", null, true)]
    [InlineData("https://app.example.com/", null, false)]
    [InlineData("https://app.example.com/a/../client.json", null, false)]
    [InlineData("https://user@app.example.com/client.json", null, false)]
    [InlineData("http://127.0.0.1:8080/client.json", null, true)]
    [InlineData("http://127.0.0.1:8080/client.json", "https://notes.example.com", false)]
    [InlineData("http://app.example.com/client.json", null, false)]
    [InlineData("my-client", null, false)]
    public void IsMetadataUrl_ClientId_HttpsWithAPathOrLoopbackForALoopbackServer(string clientId, string? publicUrl, bool expected)
    {
        var options = new NotesServerOptions { DataDirectory = "d", PublicUrl = publicUrl is null ? null : new Uri(publicUrl) };

        Assert.Equal(expected, ClientMetadataDocuments.IsMetadataUrl(clientId, options, out _));
    }
}
