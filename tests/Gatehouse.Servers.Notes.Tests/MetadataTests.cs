using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Gatehouse.Servers.Notes.Tests.Infrastructure;

namespace Gatehouse.Servers.Notes.Tests;

/// <summary>What an MCP client discovers: RFC 9728 resource metadata, then RFC 8414 / OpenID Connect metadata.</summary>
public sealed class MetadataTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("/.well-known/oauth-protected-resource/mcp")]
    [InlineData("/.well-known/oauth-protected-resource")]
    public async Task ProtectedResourceMetadata_PathInsertedAndRoot_NameTheMcpEndpointAndThisIssuer(string path)
    {
        await using var server = await NotesTestServer.StartAsync();

        using var response = await server.Http.GetAsync(path, Ct);
        var metadata = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(server.McpUrl, metadata.GetProperty("resource").GetString());
        Assert.Equal([server.Issuer], Strings(metadata, "authorization_servers"));
        Assert.Equal(["notes:read", "notes:write"], Strings(metadata, "scopes_supported"));
        Assert.Equal(["header"], Strings(metadata, "bearer_methods_supported"));
    }

    [Theory]
    [InlineData("/.well-known/oauth-authorization-server")]
    [InlineData("/.well-known/openid-configuration")]
    public async Task AuthorizationServerMetadata_BothWellKnowns_DescribeAnOAuth21Server(string path)
    {
        await using var server = await NotesTestServer.StartAsync();

        using var response = await server.Http.GetAsync(path, Ct);
        var metadata = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(server.Issuer, metadata.GetProperty("issuer").GetString());
        Assert.Equal(server.Origin + "/authorize", metadata.GetProperty("authorization_endpoint").GetString());
        Assert.Equal(server.Origin + "/token", metadata.GetProperty("token_endpoint").GetString());
        Assert.Equal(server.Origin + "/register", metadata.GetProperty("registration_endpoint").GetString());
        Assert.Equal(server.Origin + "/revoke", metadata.GetProperty("revocation_endpoint").GetString());
        Assert.Equal(server.Origin + "/.well-known/jwks.json", metadata.GetProperty("jwks_uri").GetString());
        Assert.Equal(["S256"], Strings(metadata, "code_challenge_methods_supported"));
        Assert.Equal(["code"], Strings(metadata, "response_types_supported"));
        Assert.Equal(["authorization_code", "refresh_token"], Strings(metadata, "grant_types_supported").Order(StringComparer.Ordinal));
        Assert.Equal(["client_secret_basic", "client_secret_post", "none"], Strings(metadata, "token_endpoint_auth_methods_supported").Order(StringComparer.Ordinal));
        Assert.Superset(new HashSet<string?> { "notes:read", "notes:write", "offline_access" }, Strings(metadata, "scopes_supported").ToHashSet());
        Assert.True(metadata.GetProperty("authorization_response_iss_parameter_supported").GetBoolean());
    }

    [Fact]
    public async Task AuthorizationServerMetadata_DynamicRegistrationOff_HasNoRegistrationEndpoint()
    {
        await using var server = await NotesTestServer.StartAsync(o => o with { DynamicClientRegistration = false });

        var metadata = await server.Http.GetFromJsonAsync<JsonElement>("/.well-known/oauth-authorization-server", Ct);

        Assert.False(metadata.TryGetProperty("registration_endpoint", out _));
    }

    [Fact]
    public async Task Jwks_Published_OneEs256SigningKey()
    {
        await using var server = await NotesTestServer.StartAsync();

        var jwks = await server.Http.GetFromJsonAsync<JsonElement>("/.well-known/jwks.json", Ct);

        var key = Assert.Single(jwks.GetProperty("keys").EnumerateArray());
        Assert.Equal("EC", key.GetProperty("kty").GetString());
        Assert.Equal("P-256", key.GetProperty("crv").GetString());
        Assert.Equal("ES256", key.GetProperty("alg").GetString());
        Assert.Equal(server.Keys.SigningKey.KeyId, key.GetProperty("kid").GetString());
        Assert.False(key.TryGetProperty("d", out _));
    }

    [Fact]
    public async Task Metadata_FromABrowserOnAnotherOrigin_AllowedByCors()
    {
        await using var server = await NotesTestServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/.well-known/oauth-protected-resource/mcp");
        request.Headers.Add("Origin", "http://localhost:6274");

        using var response = await server.Http.SendAsync(request, Ct);

        Assert.Equal("*", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
    }

    [Fact]
    public async Task AnyRequest_HostThatIsNotLoopback_Refused()
    {
        // Without PublicUrl the issuer follows the Host header, so only loopback names are served (DNS rebinding).
        await using var server = await NotesTestServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/.well-known/oauth-authorization-server");
        request.Headers.Host = "evil.example.com";

        using var response = await server.Http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    private static List<string?> Strings(JsonElement element, string property) =>
        [.. element.GetProperty(property).EnumerateArray().Select(e => e.GetString())];
}
