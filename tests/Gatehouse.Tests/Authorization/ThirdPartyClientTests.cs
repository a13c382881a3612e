using System.Diagnostics;
using System.Text.Json;
using System.Web;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using ModelContextProtocol.Authentication;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Tests.Authorization;

/// <summary>
/// Real MCP clients that know nothing of Gatehouse do the whole flow: discover the metadata from the 401, register
/// (dynamically, or with a Client ID Metadata Document), authorize with PKCE, exchange the code, call a tool through
/// the gateway and refresh. Only the user's part (the sign-in and consent forms) is scripted.
/// </summary>
public sealed class ThirdPartyClientTests : IAsyncLifetime
{
    private readonly TestPki _pki = TestPki.Create();
    private TestUpstream? _documents;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string DocumentUrl => $"{_documents!.Origin}/ts-sdk-client.json";

    public async ValueTask InitializeAsync() =>
        _documents = await TestUpstream.StartAsync(app => app.MapGet("/ts-sdk-client.json", (HttpContext context) => Results.Json(new
        {
            client_id = $"{context.Request.Scheme}://{context.Request.Host}{context.Request.Path}",
            client_name = "TS SDK via metadata document",
            redirect_uris = new[] { "http://127.0.0.1:33418/callback" },
            grant_types = new[] { "authorization_code", "refresh_token" },
            token_endpoint_auth_method = "none",
        })), httpsCertificate: _pki.LoadLeaf());

    public async ValueTask DisposeAsync()
    {
        if (_documents is not null)
        {
            await _documents.DisposeAsync();
        }

        _pki.Dispose();
    }

    private Task<AuthorizationServerHost> StartAsync() => AuthorizationServerHost.StartAsync($"""
        dynamic_client_registration: {"{enabled: true}"}
        client_id_metadata_documents:
          allow_private_addresses: true
          tls_custom_ca_file: {_pki.CaCertificatePath}
        """);

    [Theory]
    [InlineData("dynamic-registration")]
    [InlineData("metadata-document")]
    public async Task TypeScriptSdk_DiscoversRegistersAuthorizesCallsToolAndRefreshes(string registration)
    {
        await using var host = await StartAsync();
        var (node, modules) = await NodeTools.GetAsync(Ct);
        var start = new ProcessStartInfo(node) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(NodeTools.RepositoryRoot, "tests", "Gatehouse.Tests", "Authorization", "ts-sdk-oauth-client.mjs"));
        start.Environment["SDK_DIR"] = Path.Combine(modules, "@modelcontextprotocol", "sdk");
        start.Environment["SERVER_URL"] = host.SalesResource;
        start.Environment["EMAIL"] = "alice@example.com";
        start.Environment["PASSWORD"] = AuthorizationServerHost.Password;
        start.Environment["REDIRECT_URL"] = "http://127.0.0.1:33418/callback";
        start.Environment["TOOL"] = "echo";
        start.Environment["TOOL_ARGS"] = """{"message":"from typescript"}""";
        start.Environment["CLIENT_METADATA_URL"] = registration == "metadata-document" ? DocumentUrl : "";
        start.Environment["EXPECT_CLIENT_NAME"] = registration == "metadata-document" ? "TS SDK via metadata document" : "TS SDK test client";

        var result = await ChildProcess.RunAsync(start, TimeSpan.FromSeconds(90), Ct);
        var steps = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        JsonElement Step(string name) => steps.SingleOrDefault(s => s.GetProperty("step").GetString() == name) is { ValueKind: JsonValueKind.Object } step
            ? step
            : throw new Xunit.Sdk.XunitException($"no '{name}' step; exit {result.ExitCode}\n{result.Stdout}\n{result.Stderr}");

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        var clientId = Step("client").GetProperty("client_id").GetString();
        if (registration == "metadata-document")
        {
            Assert.Equal(DocumentUrl, clientId);
        }
        else
        {
            Assert.StartsWith("dcr_", clientId, StringComparison.Ordinal);
        }

        Assert.True(Step("consent").GetProperty("page_names_client").GetBoolean());
        Assert.Equal(host.Gateway.BaseUri.GetLeftPart(UriPartial.Authority) + "/", Step("authorized").GetProperty("iss").GetString());
        Assert.Contains("echo", Step("tools").GetProperty("names").EnumerateArray().Select(n => n.GetString()));
        Assert.Equal("from typescript", Step("call").GetProperty("text").GetString());
        var refreshed = Step("refreshed");
        Assert.Equal("AUTHORIZED", refreshed.GetProperty("outcome").GetString());
        Assert.True(refreshed.GetProperty("access_changed").GetBoolean());
        Assert.True(refreshed.GetProperty("refresh_rotated").GetBoolean());
        Assert.Equal("from typescript", Step("call-after-refresh").GetProperty("text").GetString());
        Assert.Contains(host.Received, h => h.ContainsKey("X-Gatehouse-Jwt-Assertion"));
        Assert.DoesNotContain(host.Received, h => h.ContainsKey("Authorization"));
    }

    [Fact]
    public async Task CSharpSdk_OAuthClientAuthorizesAndCallsToolThroughGateway()
    {
        await using var host = await StartAsync();
        using var user = host.NewFlow();
        await user.SignInAsync("bob@example.com", AuthorizationServerHost.Password);

        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(host.TicketsResource),
            OAuth = new ClientOAuthOptions
            {
                RedirectUri = new Uri("http://127.0.0.1:40404/callback"),
                DynamicClientRegistration = new DynamicClientRegistrationOptions { ClientName = "C# SDK test client" },
                // Where a desktop app would open a browser, the signed-in user allows the client.
                AuthorizationCallbackHandler = async (context, cancellationToken) =>
                {
                    var redirect = await user.AuthorizeAsync(context.AuthorizationUri.PathAndQuery);
                    return new AuthorizationResult { Code = redirect.Code, State = redirect.State, Iss = redirect.Issuer };
                },
            },
        });

        await using var client = await McpClient.CreateAsync(transport, cancellationToken: Ct);
        var result = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["message"] = "from c#" }, cancellationToken: Ct);

        Assert.Equal("from c#", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        var assertion = host.Received.Last(h => h.ContainsKey("X-Gatehouse-Jwt-Assertion"))["X-Gatehouse-Jwt-Assertion"].ToString();
        Assert.Equal("bob@example.com", Jwt.Payload(assertion).GetProperty("email").GetString());
    }
}
