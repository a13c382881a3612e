using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Upstream;

/// <summary><c>gatehouse probe</c> against a real MCP server with its own OAuth on loopback.</summary>
public sealed class ProbeCommandTests
{
    [Fact]
    public async Task Probe_ServerWithOAuth_ReportsMetadataAndWhetherGatehouseCanConnect()
    {
        await using var upstream = await UpstreamOAuthServer.StartAsync();

        var result = await InProcessCli.ProbeAsync(upstream.McpUrl);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains($"Authorization server: {upstream.Origin}", result.Stdout, StringComparison.Ordinal);
        Assert.Contains($"Protected resource metadata: {upstream.Origin}/.well-known/oauth-protected-resource/mcp", result.Stdout, StringComparison.Ordinal);
        Assert.Contains($"registration_endpoint: {upstream.Origin}/register", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("Gatehouse can connect: yes, as a dynamic client registration (RFC 7591)", result.Stdout, StringComparison.Ordinal);
        Assert.Empty(upstream.AuthorizeRequests);
    }

    [Fact]
    public async Task Probe_NonInteractive_AuthorizesAndListsTools()
    {
        await using var upstream = await UpstreamOAuthServer.StartAsync();

        var result = await InProcessCli.ProbeAsync(upstream.McpUrl, "--non-interactive");

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Contains("Token: received for scope mcp:read (with a refresh token", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("tools/list: ", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("echo", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("upstream-at-", result.Stdout, StringComparison.Ordinal);
        Assert.StartsWith("Bearer upstream-at-", upstream.AuthorizationHeadersSeen.Last(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_NonInteractive_PreRegisteredClient()
    {
        await using var upstream = await UpstreamOAuthServer.StartAsync("root");

        var result = await InProcessCli.ProbeAsync(upstream.McpUrl, "--non-interactive", "--client-id", UpstreamOAuthServer.ClientId, "--client-secret", UpstreamOAuthServer.ClientSecret);

        Assert.True(result.ExitCode == 0, result.Stdout + result.Stderr);
        Assert.Contains("as a pre-registered client", result.Stdout, StringComparison.Ordinal);
        Assert.Empty(upstream.Registrations);
    }

    [Fact]
    public async Task Probe_ServerWithoutOAuth_SaysSo()
    {
        await using var server = await TestMcpServer.StartAsync();

        var result = await InProcessCli.ProbeAsync(server.BaseUri + "mcp");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("needs no upstream OAuth", result.Stdout, StringComparison.Ordinal);
    }
}
