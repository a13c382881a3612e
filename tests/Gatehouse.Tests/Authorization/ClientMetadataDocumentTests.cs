using System.Net;
using System.Text.Json;
using Gatehouse.Authorization.ClientMetadata;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tests.Authorization;

/// <summary>
/// Client ID Metadata Documents served over real HTTPS on loopback (a throwaway CA the gateway is told to trust),
/// each attack answered with its own refusal before any redirect to the client.
/// </summary>
public sealed class ClientMetadataDocumentTests : IAsyncLifetime
{
    private readonly TestPki _pki = TestPki.Create();
    private TestUpstream? _documents;
    private int _fetches;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Url(string name) => $"{_documents!.Origin}/clients/{name}.json";

    public async ValueTask InitializeAsync()
    {
        _documents = await TestUpstream.StartAsync(app =>
        {
            app.MapGet("/clients/{name}.json", (HttpContext context, string name) =>
            {
                Interlocked.Increment(ref _fetches);
                var self = $"{context.Request.Scheme}://{context.Request.Host}{context.Request.Path}";
                context.Response.Headers.CacheControl = "max-age=600";
                return name switch
                {
                    "good" => Results.Json(new { client_id = self, client_name = "Doc Client", redirect_uris = new[] { "http://127.0.0.1/cb" }, token_endpoint_auth_method = "none" }),
                    "mismatch" => Results.Json(new { client_id = "https://other.example/client.json", redirect_uris = new[] { "http://127.0.0.1/cb" } }),
                    "secret" => Results.Json(new { client_id = self, redirect_uris = new[] { "http://127.0.0.1/cb" }, token_endpoint_auth_method = "client_secret_basic" }),
                    "secret-inline" => Results.Json(new { client_id = self, redirect_uris = new[] { "http://127.0.0.1/cb" }, client_secret = "shh" }),
                    "big" => Results.Json(new { client_id = self, redirect_uris = new[] { "http://127.0.0.1/cb" }, padding = new string('x', 6000) }),
                    "no-redirects" => Results.Json(new { client_id = self }),
                    "bad-redirect" => Results.Json(new { client_id = self, redirect_uris = new[] { "javascript:alert(1)" } }),
                    "moved" => Results.Redirect(Url("good")),
                    _ => Results.NotFound(),
                };
            });
        }, httpsCertificate: _pki.LoadLeaf());
    }

    public async ValueTask DisposeAsync()
    {
        if (_documents is not null)
        {
            await _documents.DisposeAsync();
        }

        _pki.Dispose();
    }

    private Task<AuthorizationServerHost> StartAsync(bool allowPrivate = true, bool enabled = true, string? allowedDomains = null) =>
        AuthorizationServerHost.StartAsync($$"""
            client_id_metadata_documents:
              enabled: {{(enabled ? "true" : "false")}}
              allow_private_addresses: {{(allowPrivate ? "true" : "false")}}
              tls_custom_ca_file: {{_pki.CaCertificatePath}}
            {{(allowedDomains is null ? "" : "  allowed_domains: " + allowedDomains)}}
            """);

    [Fact]
    public async Task Document_Valid_ClientNamedOnConsentAndFlowCompletes_FetchedOnceThenCached()
    {
        await using var host = await StartAsync();
        using var flow = host.NewFlow();
        var pkce = Pkce.Create();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);
        var query = OAuthFlow.AuthorizeQuery(Url("good"), "http://127.0.0.1:40123/cb", pkce, host.SalesResource);

        using (var consent = await flow.GetAsync(query))
        {
            var html = await consent.Content.ReadAsStringAsync(Ct);
            Assert.Equal(HttpStatusCode.OK, consent.StatusCode);
            Assert.Contains("Doc Client", html, StringComparison.Ordinal);
            Assert.Contains(WebUtility.HtmlEncode(Url("good")), html, StringComparison.Ordinal);
        }

        var redirect = await flow.AuthorizeAsync(query);
        var tokens = await flow.ExchangeCodeAsync(redirect.Code!, pkce, Url("good"), "http://127.0.0.1:40123/cb");

        Assert.Equal(HttpStatusCode.OK, tokens.Status);
        Assert.Equal(Url("good"), tokens.AccessTokenClaims.GetProperty("client_id").GetString());
        Assert.Equal(1, _fetches);
        Assert.Equal(HttpStatusCode.OK, (await flow.RefreshAsync(tokens.RefreshToken!, Url("good"))).Status);
    }

    [Theory]
    [InlineData("mismatch", "names a different client_id than its own URL")]
    [InlineData("secret", "shared-secret token_endpoint_auth_method")]
    [InlineData("secret-inline", "contains a client secret")]
    [InlineData("big", $"is larger than 5120 bytes")]
    [InlineData("no-redirects", "lists no redirect_uris")]
    [InlineData("bad-redirect", "cannot receive an authorization response")]
    [InlineData("moved", "answered with a redirect")]
    [InlineData("missing", "answered 404 instead of 200")]
    public async Task Document_Unusable_RefusedWithTheReasonAndNoRedirect(string name, string reason)
    {
        await using var host = await StartAsync();
        using var flow = host.NewFlow();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);

        using var response = await flow.GetAsync(OAuthFlow.AuthorizeQuery(Url(name), "http://127.0.0.1/cb", Pkce.Create(), host.SalesResource));
        var html = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync(Ct));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(response.Headers.Location);
        Assert.Contains("invalid_client", html, StringComparison.Ordinal);
        Assert.Contains(reason, html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Document_OnPrivateAddress_RefusedWithoutConnecting()
    {
        await using var host = await StartAsync(allowPrivate: false);
        using var flow = host.NewFlow();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);

        using var response = await flow.GetAsync(OAuthFlow.AuthorizeQuery(Url("good"), "http://127.0.0.1/cb", Pkce.Create(), host.SalesResource));
        var html = WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync(Ct));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("private, loopback or link-local address (127.0.0.1)", html, StringComparison.Ordinal);
        Assert.Equal(0, _fetches);
    }

    [Fact]
    public async Task Documents_SwitchedOff_UrlClientIdRefused()
    {
        await using var host = await StartAsync(enabled: false);
        using var flow = host.NewFlow();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);

        using var metadata = await host.Gateway.Client.GetAsync("/.well-known/oauth-authorization-server", Ct);
        using var response = await flow.GetAsync(OAuthFlow.AuthorizeQuery(Url("good"), "http://127.0.0.1/cb", Pkce.Create(), host.SalesResource));

        Assert.False(JsonDocument.Parse(await metadata.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("client_id_metadata_document_supported").GetBoolean());
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("does not accept Client ID Metadata Documents", WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync(Ct)), StringComparison.Ordinal);
        Assert.Equal(0, _fetches);
    }

    [Fact]
    public async Task Document_HostNotInAllowlist_RefusedWithoutFetching()
    {
        await using var host = await StartAsync(allowedDomains: "[claude.ai, '*.example.com']");
        using var flow = host.NewFlow();
        await flow.SignInAsync("alice@example.com", AuthorizationServerHost.Password);

        using var response = await flow.GetAsync(OAuthFlow.AuthorizeQuery(Url("good"), "http://127.0.0.1/cb", Pkce.Create(), host.SalesResource));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not in this server's allowed client domains", WebUtility.HtmlDecode(await response.Content.ReadAsStringAsync(Ct)), StringComparison.Ordinal);
        Assert.Equal(0, _fetches);
    }

    [Theory]
    [InlineData("127.0.0.1", false)]
    [InlineData("10.1.2.3", false)]
    [InlineData("172.16.0.1", false)]
    [InlineData("192.168.1.1", false)]
    [InlineData("169.254.169.254", false)]
    [InlineData("100.64.0.1", false)]
    [InlineData("0.0.0.0", false)]
    [InlineData("::1", false)]
    [InlineData("fe80::1", false)]
    [InlineData("fd00::1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    [InlineData("93.184.216.34", true)]
    [InlineData("2606:4700:4700::1111", true)]
    public void OutboundAddressPolicy_PrivateLoopbackLinkLocal_NotPublic(string address, bool expected) =>
        Assert.Equal(expected, OutboundAddressPolicy.IsPublic(IPAddress.Parse(address)));
}
