using Gatehouse.Upstream;

namespace Gatehouse.Tests.Upstream;

/// <summary>
/// Discovery against a real upstream on loopback (MCP authorization 2025-11-25, "Authorization Server Discovery"):
/// RFC 9728 metadata from the challenge's hint, the path-inserted and the root well-known URLs, then RFC 8414; and
/// the outbound rules (private addresses only for trusted hosts, the allowlist).
/// </summary>
public sealed class UpstreamDiscoveryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>127.0.0.1 is the route's own upstream host in these tests, so it may be on a loopback address.</summary>
    private static readonly OutboundPolicy s_trustLoopback = new(["127.0.0.1"], []);

    [Theory]
    [InlineData("hint")]
    [InlineData("path")]
    [InlineData("root")]
    public async Task Discover_EachMetadataLocation_FindsTheAuthorizationServer(string layout)
    {
        await using var upstream = await UpstreamOAuthServer.StartAsync(layout);
        using var http = new UpstreamHttp();
        var discovery = new UpstreamDiscovery(http, TimeProvider.System);

        var server = await discovery.DiscoverFromUpstreamAsync(new Uri(upstream.McpUrl), null, s_trustLoopback, challenge: null, Ct);

        Assert.NotNull(server);
        Assert.Equal(upstream.Origin, server.Issuer);
        Assert.Equal(new Uri(upstream.Origin + "/token"), server.TokenEndpoint);
        Assert.Equal(new Uri(upstream.Origin + "/revoke"), server.RevocationEndpoint);
        Assert.Equal(upstream.McpUrl, server.Resource);
        Assert.Equal(["mcp:read"], server.ChallengeScopes);
        Assert.True(server.IssParameterSupported);
        var expected = layout switch
        {
            "hint" => upstream.Origin + "/meta/prm",
            "path" => upstream.Origin + "/.well-known/oauth-protected-resource/mcp",
            _ => upstream.Origin + "/.well-known/oauth-protected-resource",
        };
        Assert.Equal(new Uri(expected), server.ResourceMetadataUrl);
    }

    [Fact]
    public async Task Discover_UntrustedLoopbackHost_IsRefused()
    {
        await using var upstream = await UpstreamOAuthServer.StartAsync();
        using var http = new UpstreamHttp();
        var discovery = new UpstreamDiscovery(http, TimeProvider.System);

        var ex = await Assert.ThrowsAsync<UpstreamOAuthException>(() =>
            discovery.DiscoverFromUpstreamAsync(new Uri(upstream.McpUrl), null, OutboundPolicy.PublicOnly, challenge: null, Ct));

        Assert.Equal(UpstreamFailure.Refused, ex.Failure);
        Assert.Contains("mcp_allowed_as_metadata_domains", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Discover_HostNotInAllowlist_IsRefused()
    {
        await using var upstream = await UpstreamOAuthServer.StartAsync();
        using var http = new UpstreamHttp();
        var discovery = new UpstreamDiscovery(http, TimeProvider.System);

        var ex = await Assert.ThrowsAsync<UpstreamOAuthException>(() =>
            discovery.DiscoverFromUpstreamAsync(new Uri(upstream.McpUrl), null, new OutboundPolicy([], ["auth.example.com"]), challenge: null, Ct));

        Assert.Equal(UpstreamFailure.Refused, ex.Failure);
        Assert.Contains("not in mcp_allowed_as_metadata_domains", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Discover_AllowlistedHost_MayBeOnLoopback()
    {
        await using var upstream = await UpstreamOAuthServer.StartAsync();
        using var http = new UpstreamHttp();
        var discovery = new UpstreamDiscovery(http, TimeProvider.System);

        var server = await discovery.DiscoverFromUpstreamAsync(new Uri(upstream.McpUrl), null, new OutboundPolicy([], ["127.0.0.1"]), challenge: null, Ct);

        Assert.Equal(upstream.Origin, server!.Issuer);
    }

    [Fact]
    public void AuthorizationServerMetadataUrls_IssuerWithPath_FollowTheMcpOrder()
    {
        Assert.Equal(
            [
                new Uri("https://auth.example.com/.well-known/oauth-authorization-server/tenant1"),
                new Uri("https://auth.example.com/.well-known/openid-configuration/tenant1"),
                new Uri("https://auth.example.com/tenant1/.well-known/openid-configuration"),
            ],
            UpstreamDiscovery.AuthorizationServerMetadataUrls(new Uri("https://auth.example.com/tenant1")));
        Assert.Equal(
            [
                new Uri("https://auth.example.com/.well-known/oauth-authorization-server"),
                new Uri("https://auth.example.com/.well-known/openid-configuration"),
            ],
            UpstreamDiscovery.AuthorizationServerMetadataUrls(new Uri("https://auth.example.com")));
    }

    [Theory]
    [InlineData("Bearer resource_metadata=\"https://a.example/prm\", scope=\"a b\", error=\"insufficient_scope\"", "insufficient_scope", "a b", "https://a.example/prm")]
    [InlineData("Bearer error=invalid_token", "invalid_token", null, null)]
    [InlineData("Bearer realm=\"x, y\", scope=\"s\"", null, "s", null)]
    public void BearerChallenge_Parse_ReadsRfc6750Parameters(string header, string? error, string? scope, string? metadata)
    {
        var challenge = BearerChallenge.Parse(header["Bearer ".Length..]);
        Assert.Equal(error, challenge.Error);
        Assert.Equal(scope, challenge.Scopes is null ? null : string.Join(' ', challenge.Scopes));
        Assert.Equal(metadata, challenge.ResourceMetadata);
    }
}
