using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Gatehouse.Servers.Notes.Tests.Infrastructure;

namespace Gatehouse.Servers.Notes.Tests;

/// <summary>Clients: dynamic registration (RFC 7591), its "off" mode, and clients registered in the options.</summary>
public sealed class RegistrationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Register_PublicClient_201WithClientIdAndNoSecret()
    {
        await using var server = await NotesTestServer.StartAsync();

        using var response = await server.Http.PostAsJsonAsync("/register", new
        {
            client_name = "Claude",
            redirect_uris = new[] { "http://127.0.0.1:33418/callback" },
            token_endpoint_auth_method = "none",
        }, Ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.StartsWith("dcr_", body.GetProperty("client_id").GetString(), StringComparison.Ordinal);
        Assert.False(body.TryGetProperty("client_secret", out _));
        Assert.Equal("Claude", body.GetProperty("client_name").GetString());
        Assert.Equal("none", body.GetProperty("token_endpoint_auth_method").GetString());
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task Register_ConfidentialClient_GetsASecretThatWorksAtTheTokenEndpoint()
    {
        await using var server = await NotesTestServer.StartAsync();
        var client = await OAuthClient.RegisterAsync(server, authMethod: "client_secret_basic");
        using var browser = server.NewBrowser();
        await browser.SignInAsync("bob@example.com", NotesTestServer.BobPassword);
        var request = client.NewRequest();
        var code = (await browser.AuthorizeAsync(request.Url)).Code!;

        var wrongSecret = await client.TokenRequestAsync(
            [new("grant_type", "authorization_code"), new("code", code), new("code_verifier", request.Verifier), new("redirect_uri", client.RedirectUri)],
            secretOverride: "not-the-secret");
        var tokens = await client.RedeemAsync(code, request.Verifier);

        Assert.Equal(HttpStatusCode.Unauthorized, wrongSecret.Status);
        Assert.Equal("invalid_client", wrongSecret.Error);
        Assert.Equal(HttpStatusCode.OK, tokens.Status);
    }

    [Theory]
    [InlineData("""{"redirect_uris":["http://evil.example.com/cb"]}""", "invalid_redirect_uri")]
    [InlineData("""{"redirect_uris":["https://app.example.com/cb#x"]}""", "invalid_redirect_uri")]
    [InlineData("""{"redirect_uris":["javascript:alert(1)"]}""", "invalid_redirect_uri")]
    [InlineData("""{"redirect_uris":[]}""", "invalid_redirect_uri")]
    [InlineData("""{"client_name":"no redirect"}""", "invalid_redirect_uri")]
    [InlineData("""{"redirect_uris":["https://app.example.com/cb"],"token_endpoint_auth_method":"private_key_jwt"}""", "invalid_client_metadata")]
    [InlineData("""{"redirect_uris":["https://app.example.com/cb"],"grant_types":["client_credentials"]}""", "invalid_client_metadata")]
    [InlineData("""{"redirect_uris":"https://app.example.com/cb"}""", "invalid_client_metadata")]
    [InlineData("""not json""", "invalid_client_metadata")]
    public async Task Register_InvalidMetadata_400WithTheRfc7591Error(string json, string error)
    {
        await using var server = await NotesTestServer.StartAsync();

        using var response = await server.Http.PostAsync("/register", new StringContent(json, Encoding.UTF8, "application/json"), Ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(error, body.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("error_description").GetString()));
    }

    [Fact]
    public async Task Register_DynamicRegistrationOff_Refused()
    {
        await using var server = await NotesTestServer.StartAsync(o => o with { DynamicClientRegistration = false });

        using var response = await server.Http.PostAsJsonAsync("/register", new { redirect_uris = new[] { "http://127.0.0.1:1/cb" } }, Ct);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("switched off", body.GetProperty("error_description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PreRegisteredClient_NoDynamicRegistration_CompletesTheFlowWithItsSecret()
    {
        // The "no DCR" mode: an operator gave the client (Gatehouse, say) its id and secret ahead of time.
        var configured = new NotesClient
        {
            ClientId = "gatehouse",
            ClientSecret = "gatehouse-secret",
            Name = "Gatehouse",
            RedirectUris = ["http://127.0.0.1:8080/.gatehouse/mcp/client/oauth/callback"],
        };
        await using var server = await NotesTestServer.StartAsync(o => o with { DynamicClientRegistration = false, Clients = [configured] });
        var client = new OAuthClient(server, "gatehouse", configured.RedirectUris[0], "gatehouse-secret");
        using var browser = server.NewBrowser();
        await browser.SignInAsync("alice@example.com", NotesTestServer.AlicePassword);
        var request = client.NewRequest();

        using var consent = await browser.GetAsync(request.Url);
        Assert.Contains("Gatehouse", await consent.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var response = await browser.AuthorizeAsync(request.Url);
        var tokens = await client.RedeemAsync(response.Code!, request.Verifier);

        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        Assert.Equal("gatehouse", tokens.Jwt.GetClaim("client_id").Value);
    }

    [Fact]
    public async Task PreRegisteredClients_Restart_SecretChangesAndRemovalsApplied()
    {
        using var directory = new TempDirectory();
        NotesClient Client(string id, string secret) => new() { ClientId = id, ClientSecret = secret, RedirectUris = ["https://app.example.com/cb"] };
        await using (var first = await NotesTestServer.StartAsync(o => o with { Clients = [Client("kept", "old-secret"), Client("dropped", "s")] }, directory.Path))
        {
        }

        await using var second = await NotesTestServer.StartAsync(o => o with { Clients = [Client("kept", "new-secret")] }, directory.Path);

        Assert.Equal("invalid_client", (await new OAuthClient(second, "kept", "https://app.example.com/cb", "old-secret").RefreshAsync("x")).Error);
        Assert.Equal("invalid_grant", (await new OAuthClient(second, "kept", "https://app.example.com/cb", "new-secret").RefreshAsync("x")).Error);
        Assert.Equal("invalid_client", (await new OAuthClient(second, "dropped", "https://app.example.com/cb", "s").RefreshAsync("x")).Error);
    }
}
