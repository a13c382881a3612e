using Gatehouse.Configuration;

namespace Gatehouse.Tests.Upstream;

/// <summary><c>mcp.server.upstream_oauth2</c>, <c>authorization_server_url</c> and the top-level upstream keys.</summary>
public sealed class UpstreamConfigTests
{
    private static GatewayConfig Loads(string yaml) => new YamlConfigReader(_ => null).Read(yaml, "test.yaml");

    private static IReadOnlyList<ConfigError> Fails(string yaml) =>
        Assert.Throws<ConfigException>(() => new YamlConfigReader(_ => null).Read(yaml, "test.yaml")).Errors;

    private static string Route(string server, string extra = "") => $"""
        address: 127.0.0.1:8080
        routes:
          - from: https://github.example.com
            to: http://127.0.0.1:9000/mcp
            {extra}
            mcp:
              server:
        {server}
        """;

    [Fact]
    public void Read_PomeriumUpstreamOAuth2_IsAccepted()
    {
        var config = Loads("mcp_allowed_as_metadata_domains: [auth.example.com, '*.corp.example']\nmcp_upstream_token_refresh_skew: 2m\n" + Route("""
                upstream_oauth2:
                  client_id: abc
                  client_secret: s3cret
                  scopes: ['read:user', 'user:email']
                  authorization_url_params: {prompt: consent}
                  endpoint:
                    auth_url: https://github.com/login/oauth/authorize
                    token_url: https://github.com/login/oauth/access_token
                    auth_style: in_params
        """));

        var oauth = config.Routes[0].McpServer!.UpstreamOAuth2!;
        Assert.Equal("abc", oauth.ClientId);
        Assert.Equal(["read:user", "user:email"], oauth.Scopes);
        Assert.Equal("consent", oauth.AuthorizationUrlParams["prompt"]);
        Assert.Equal(new Uri("https://github.com/login/oauth/access_token"), oauth.Endpoint!.TokenUrl);
        Assert.Equal(UpstreamAuthStyle.InParams, oauth.AuthStyle);
        Assert.Equal(["auth.example.com", "*.corp.example"], config.McpAllowedAsMetadataDomains);
        Assert.Equal(TimeSpan.FromMinutes(2), config.UpstreamTokenRefreshSkew);
        Assert.DoesNotContain("s3cret", oauth.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_AuthorizationServerUrl_IsAccepted()
    {
        var config = Loads(Route("        authorization_server_url: https://auth.example.com/tenant"));
        Assert.Equal(new Uri("https://auth.example.com/tenant"), config.Routes[0].McpServer!.AuthorizationServerUrl);
        Assert.Equal(GatewayConfig.DefaultUpstreamTokenRefreshSkew, config.UpstreamTokenRefreshSkew);
    }

    [Theory]
    [InlineData("        upstream_oauth2: {client_secret: x}", "", "routes[0].mcp.server.upstream_oauth2.client_id", "missing")]
    [InlineData("        upstream_oauth2: {client_id: a, client_secret: ''}", "", "routes[0].mcp.server.upstream_oauth2.client_secret", "is empty")]
    [InlineData("        upstream_oauth2: {client_id: a, scopes: ['a b']}", "", "routes[0].mcp.server.upstream_oauth2.scopes", "RFC 6749")]
    [InlineData("        upstream_oauth2: {client_id: a, authorization_url_params: {state: x}}", "", "routes[0].mcp.server.upstream_oauth2.authorization_url_params", "set by Gatehouse")]
    [InlineData("        upstream_oauth2: {client_id: a, endpoint: {auth_url: 'https://a.example/authorize'}}", "", "routes[0].mcp.server.upstream_oauth2.endpoint", "both")]
    [InlineData("        upstream_oauth2: {client_id: a, endpoint: {auth_url: 'http://a.example/authorize', token_url: 'https://a.example/token'}}", "", "routes[0].mcp.server.upstream_oauth2.endpoint.auth_url", "clear text")]
    [InlineData("        upstream_oauth2: {client_id: a, endpoint: {auth_url: 'https://a.example/a', token_url: 'https://a.example/t', auth_style: magic}}", "", "routes[0].mcp.server.upstream_oauth2.endpoint.auth_style", "in_header")]
    [InlineData("        upstream_oauth2: {client_id: a, bogus: 1}", "", "routes[0].mcp.server.upstream_oauth2.bogus", "")]
    [InlineData("        upstream_oauth2: {client_id: a}", "allow_public_unauthenticated_access: true", "routes[0].allow_public_unauthenticated_access", "per signed-in user")]
    [InlineData("        upstream_oauth2: {client_id: a}", "set_request_headers: {Authorization: 'Bearer x'}", "routes[0].set_request_headers", "")]
    [InlineData("        authorization_server_url: not-a-url", "", "routes[0].mcp.server.authorization_server_url", "https://")]
    public void Read_BadUpstreamOAuth_NamesKeyAndFix(string server, string extra, string key, string fragment)
    {
        var errors = Fails(Route(server, extra));
        Assert.Contains(errors, e => e.Key == key && e.Message.Contains(fragment, StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Message.Contains("not available", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("mcp_upstream_token_refresh_skew: 2h", "mcp_upstream_token_refresh_skew")]
    [InlineData("mcp_allowed_as_metadata_domains: {a: b}", "mcp_allowed_as_metadata_domains")]
    public void Read_BadTopLevelUpstreamKey_IsNamed(string line, string key)
    {
        var errors = Fails(line + "\n" + Route("        {}"));
        Assert.Contains(errors, e => e.Key == key);
    }
}
