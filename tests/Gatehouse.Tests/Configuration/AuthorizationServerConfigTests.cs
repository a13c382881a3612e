using System.Security.Cryptography;
using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

public sealed class AuthorizationServerConfigTests
{
    private const string McpRoute = """
        routes:
          - name: sales
            from: https://mcp.example.com
            prefix: /sales
            to: http://127.0.0.1:5081
            mcp: {server: {}}
        """;

    private static GatewayConfig Loads(string topLevel, string routes = McpRoute, string? baseDirectory = null) =>
        new YamlConfigReader(_ => null, baseDirectory).Read("address: 127.0.0.1:8080\n" + topLevel + "\n" + routes, "test.yaml");

    private static ConfigError FailsOnce(string topLevel, string routes = McpRoute) =>
        Assert.Single(Assert.Throws<ConfigException>(() => Loads(topLevel, routes)).Errors);

    [Fact]
    public void Read_Nothing_SafeDefaults()
    {
        var config = Loads("");

        Assert.Equal(TimeSpan.FromHours(1), config.AuthorizationServer.AccessTokenLifetime);
        Assert.Equal(TimeSpan.FromDays(30), config.AuthorizationServer.RefreshTokenLifetime);
        Assert.Equal(TimeSpan.FromSeconds(30), config.AuthorizationServer.RefreshTokenReuseLeeway);
        Assert.True(config.AuthorizationServer.ClientIdMetadataDocuments.Enabled);
        Assert.False(config.AuthorizationServer.ClientIdMetadataDocuments.AllowPrivateAddresses);
        Assert.Empty(config.AuthorizationServer.ClientIdMetadataDocuments.AllowedDomains);
        Assert.False(config.AuthorizationServer.DynamicClientRegistration);
        Assert.Empty(config.Clients);
        Assert.Equal("X-Gatehouse-Jwt-Assertion", config.JwtAssertionHeader);
        // A route that does not say it is public is protected.
        Assert.False(Assert.Single(config.Routes).AllowPublicUnauthenticatedAccess);
    }

    [Fact]
    public void Read_EveryKey_Applied()
    {
        var config = Loads("""
            authorization_server:
              access_token_lifetime: 15m
              refresh_token_lifetime: 168h
              refresh_token_reuse_leeway: 0s
              client_id_metadata_documents: {enabled: false, allowed_domains: [claude.ai, '*.example.com'], allow_private_addresses: true}
              dynamic_client_registration: {enabled: true}
            jwt_assertion_header: X-Pomerium-Jwt-Assertion
            clients:
              - client_id: ide
                name: My IDE
                redirect_uris: [http://127.0.0.1/callback, 'com.example.ide:/oauth']
              - client_id: checker
                client_secret: 0123456789abcdef-0123
                introspect_routes: [sales]
            """);

        var settings = config.AuthorizationServer;
        Assert.Equal(TimeSpan.FromMinutes(15), settings.AccessTokenLifetime);
        Assert.Equal(TimeSpan.FromDays(7), settings.RefreshTokenLifetime);
        Assert.Equal(TimeSpan.Zero, settings.RefreshTokenReuseLeeway);
        Assert.False(settings.ClientIdMetadataDocuments.Enabled);
        Assert.True(settings.ClientIdMetadataDocuments.AllowPrivateAddresses);
        Assert.True(settings.ClientIdMetadataDocuments.IsDomainAllowed("claude.ai"));
        Assert.True(settings.ClientIdMetadataDocuments.IsDomainAllowed("app.example.com"));
        Assert.False(settings.ClientIdMetadataDocuments.IsDomainAllowed("example.com"));
        Assert.False(settings.ClientIdMetadataDocuments.IsDomainAllowed("evilclaude.ai"));
        Assert.True(settings.DynamicClientRegistration);
        Assert.Equal("X-Pomerium-Jwt-Assertion", config.JwtAssertionHeader);
        Assert.Equal(["ide", "checker"], config.Clients.Select(c => c.ClientId));
        Assert.Equal("My IDE", config.Clients[0].Name);
        Assert.Null(config.Clients[0].ClientSecret);
        Assert.Equal(["sales"], config.Clients[1].IntrospectRoutes);
        Assert.DoesNotContain("0123456789abcdef", config.Clients[1].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_PomeriumAllowedClientIdDomains_SameAsAllowedDomains()
    {
        var config = Loads("mcp_allowed_client_id_domains: [claude.ai]");

        Assert.Equal(["claude.ai"], config.AuthorizationServer.ClientIdMetadataDocuments.AllowedDomains);
    }

    [Theory]
    [InlineData("authorization_server: {access_token_lifetime: 30s}", "authorization_server.access_token_lifetime", "from 1m to 24h")]
    [InlineData("authorization_server: {refresh_token_lifetime: 10m}", "authorization_server.refresh_token_lifetime", "at least as long as access_token_lifetime")]
    [InlineData("authorization_server: {refresh_token_reuse_leeway: 1h}", "authorization_server.refresh_token_reuse_leeway", "from 0s to 5m")]
    [InlineData("authorization_server: {client_id_metadata_documents: {allowed_domains: ['https://claude.ai']}}", "authorization_server.client_id_metadata_documents.allowed_domains", "is not a host name")]
    [InlineData("authorization_server: {dynamic_client_registration: true}", "authorization_server.dynamic_client_registration", "{enabled: true}")]
    [InlineData("authorization_server: {signing_key_file: /nonexistent/key.pem}", "authorization_server.signing_key_file", "does not exist")]
    [InlineData("authorization_server: {acess_token_lifetime: 1h}", "authorization_server.acess_token_lifetime", "did you mean `access_token_lifetime`")]
    [InlineData("jwt_assertion_header: X-Custom", "jwt_assertion_header", "X-Pomerium-Jwt-Assertion")]
    [InlineData("clients: [{name: x, redirect_uris: [http://127.0.0.1/cb]}]", "clients[0].client_id", "every client needs `client_id:`")]
    [InlineData("clients: [{client_id: 'https://app.example.com/client.json', redirect_uris: [http://127.0.0.1/cb]}]", "clients[0].client_id", "needs no registration")]
    [InlineData("clients: [{client_id: a, redirect_uris: ['http://app.example.com/cb']}]", "clients[0].redirect_uris", "plain http is allowed only on a loopback host")]
    [InlineData("clients: [{client_id: a, redirect_uris: ['https://app.example.com/cb#frag']}]", "clients[0].redirect_uris", "must not have a fragment")]
    [InlineData("clients: [{client_id: a, redirect_uris: ['javascript:alert(1)']}]", "clients[0].redirect_uris", "cannot receive an authorization response")]
    [InlineData("clients: [{client_id: a, client_secret: short, redirect_uris: [http://127.0.0.1/cb]}]", "clients[0].client_secret", "shorter than 16 characters")]
    [InlineData("clients: [{client_id: a}]", "clients[0]", "the client can do nothing")]
    [InlineData("clients: [{client_id: a, introspect_routes: [sales]}]", "clients[0].introspect_routes", "add `client_secret`")]
    [InlineData("clients: [{client_id: a, client_secret: 0123456789abcdef0, introspect_routes: [nope]}]", "clients[0].introspect_routes", "not the name of an MCP server route")]
    public void Read_InvalidKey_ErrorNamesKeyAndFix(string yaml, string key, string message)
    {
        var error = FailsOnce(yaml);

        Assert.Equal(key, error.Key);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.True(error.Line > 0);
    }

    [Fact]
    public void Read_SecretTooShort_NeverQuoted()
    {
        var error = FailsOnce("clients: [{client_id: a, client_secret: hunter2, redirect_uris: [http://127.0.0.1/cb]}]");

        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_DuplicateClientId_Refused()
    {
        var error = FailsOnce("clients: [{client_id: a, redirect_uris: [http://127.0.0.1/cb]}, {client_id: a, redirect_uris: [http://127.0.0.1/cb]}]");

        Assert.Equal("clients[1].client_id", error.Key);
        Assert.Contains("listed twice", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ProtectedWebRouteWithoutIdp_RefusedNamingIdp()
    {
        var error = FailsOnce("", """
            routes:
              - from: https://app.example.com
                to: http://127.0.0.1:3000
            """);

        Assert.Equal("routes[0]", error.Key);
        Assert.Contains("add `idp:`", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_SigningKeyFile_P256KeysAcceptedOtherKeysRefused()
    {
        var directory = Directory.CreateTempSubdirectory("gatehouse-keys-").FullName;
        try
        {
            using var p256 = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
            using var rsa = RSA.Create(2048);
            File.WriteAllText(Path.Combine(directory, "good.pem"), p256.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(Path.Combine(directory, "p384.pem"), p384.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(Path.Combine(directory, "rsa.pem"), rsa.ExportPkcs8PrivateKeyPem());
            File.WriteAllText(Path.Combine(directory, "public.pem"), p256.ExportSubjectPublicKeyInfoPem());

            Assert.EndsWith("good.pem", Loads("authorization_server: {signing_key_file: good.pem}", baseDirectory: directory).AuthorizationServer.SigningKeyFile, StringComparison.Ordinal);
            foreach (var (file, reason) in new[] { ("p384.pem", "P-256"), ("rsa.pem", "not an EC key"), ("public.pem", "PUBLIC KEY") })
            {
                var error = Assert.Single(Assert.Throws<ConfigException>(() => Loads($"authorization_server: {{signing_key_file: {file}}}", baseDirectory: directory)).Errors);
                Assert.Equal("authorization_server.signing_key_file", error.Key);
                Assert.Contains(reason, error.Message, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
