using System.Net;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.ServiceAccounts;
using Gatehouse.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Tests.Proxy;

public sealed class RateLimitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<HttpResponseMessage> PingAsync(TestGateway gateway, string path, string? token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":9,"method":"ping"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        if (token is not null)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return await gateway.Client.SendAsync(request, Ct);
    }

    [Fact]
    public async Task PerUser_OverTheLimit_429WithRetryAfterAndJsonRpcError_OtherUsersUnaffected()
    {
        await using var upstream = await TestMcpServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync($"""
              - name: limited
                from: http://127.0.0.1
                prefix: /mcp
                to: {upstream.Origin}
                mcp: {"{server: {}}"}
                rate_limit:
                  user: {"{requests: 2, interval: 1h}"}
            """);
        var accounts = gateway.Services.GetRequiredService<ServiceAccountStore>();
        var (_, alice) = await accounts.CreateAsync("alice@example.com", [], [], TimeSpan.FromHours(1), null, Ct);
        var (_, bob) = await accounts.CreateAsync("bob@example.com", [], [], TimeSpan.FromHours(1), null, Ct);

        for (var i = 0; i < 2; i++)
        {
            using var allowed = await PingAsync(gateway, "/mcp", alice);
            Assert.NotEqual(HttpStatusCode.TooManyRequests, allowed.StatusCode);
        }

        using var limited = await PingAsync(gateway, "/mcp", alice);
        using var other = await PingAsync(gateway, "/mcp", bob);
        var error = JsonDocument.Parse(await limited.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal(-32056, error.GetProperty("code").GetInt32());
        Assert.Contains("user limit", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.NotEqual(HttpStatusCode.TooManyRequests, other.StatusCode);
    }

    [Fact]
    public async Task PerRoute_PublicRoute_SharedByEveryone()
    {
        await using var upstream = await TestMcpServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync($"""
              - name: open
                from: http://127.0.0.1
                prefix: /mcp
                to: {upstream.Origin}
                allow_public_unauthenticated_access: true
                mcp: {"{server: {}}"}
                rate_limit: {"{route: {requests: 1, interval: 1h}}"}
            """);

        using var first = await PingAsync(gateway, "/mcp", null);
        using var second = await PingAsync(gateway, "/mcp", null);

        Assert.NotEqual(HttpStatusCode.TooManyRequests, first.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
    }

    [Theory]
    [InlineData("rate_limit: {user: {requests: 0, interval: 1m}}", "routes[0].rate_limit.user.requests", "from 1 to 10000000")]
    [InlineData("rate_limit: {user: {requests: 5, interval: 100ms}}", "routes[0].rate_limit.user.interval", "from 1s to 24h")]
    [InlineData("rate_limit: {user: {requests: 5}}", "routes[0].rate_limit.user", "missing `interval:`")]
    [InlineData("rate_limit: {}", "routes[0].rate_limit", "at least one of")]
    [InlineData("rate_limit: {per_user: {requests: 5, interval: 1m}}", "routes[0].rate_limit.per_user", "unknown key")]
    public void Config_Invalid_ErrorNamesKey(string yaml, string key, string message)
    {
        var error = Assert.Single(Assert.Throws<ConfigException>(() => YamlConfigReader.Parse($"""
            address: 127.0.0.1:0
            routes:
              - from: http://127.0.0.1
                to: http://127.0.0.1:9
                mcp: {"{server: {}}"}
                {yaml}
            """)).Errors);

        Assert.Equal(key, error.Key);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_PerUserOnPublicRoute_Refused()
    {
        var error = Assert.Single(Assert.Throws<ConfigException>(() => YamlConfigReader.Parse("""
            address: 127.0.0.1:0
            routes:
              - from: http://127.0.0.1
                to: http://127.0.0.1:9
                allow_public_unauthenticated_access: true
                rate_limit: {user: {requests: 5, interval: 1m}}
            """)).Errors);

        Assert.Equal("routes[0].rate_limit.user", error.Key);
        Assert.Contains("no signed-in user", error.Message, StringComparison.Ordinal);
    }
}
