using System.Net;
using System.Text.Json;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tests.Proxy;

public sealed class HeaderAndRewriteTests
{
    /// <summary>An upstream that answers with what it received: path, query and headers.</summary>
    private static Task<TestUpstream> StartMirrorAsync() => TestUpstream.StartAsync(app => app.Run(async context =>
    {
        var headers = context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString());
        context.Response.Headers["Mcp-Session-Id"] = "upstream-session";
        await context.Response.WriteAsJsonAsync(new Dictionary<string, object>
        {
            ["path"] = context.Request.Path.Value ?? "",
            ["query"] = context.Request.QueryString.Value ?? "",
            ["headers"] = headers,
        });
    }));

    [Fact]
    public async Task Forward_McpHeaders_PassThroughBothWays()
    {
        await using var upstream = await StartMirrorAsync();
        await using var gateway = await TestGateway.StartAsync(ErrorShapeTests.Route("mcp", upstream.Origin, mcp: true));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/mcp");
        request.Headers.Add("Mcp-Session-Id", "abc123");
        request.Headers.Add("MCP-Protocol-Version", "2025-11-25");
        request.Headers.Add("Last-Event-ID", "evt-9");
        request.Headers.Add("Mcp-Method", "tools/call");
        request.Headers.Add("Mcp-Name", "echo");
        using var response = await gateway.Client.SendAsync(request, TestContext.Current.CancellationToken);
        using var mirror = await ErrorShapeTests.ReadJsonAsync(response);
        var headers = mirror.RootElement.GetProperty("headers");

        Assert.Equal("abc123", headers.GetProperty("mcp-session-id").GetString());
        Assert.Equal("2025-11-25", headers.GetProperty("mcp-protocol-version").GetString());
        Assert.Equal("evt-9", headers.GetProperty("last-event-id").GetString());
        Assert.Equal("tools/call", headers.GetProperty("mcp-method").GetString());
        Assert.Equal("echo", headers.GetProperty("mcp-name").GetString());
        Assert.Equal("upstream-session", response.Headers.GetValues("Mcp-Session-Id").Single());
    }

    [Fact]
    public async Task Forward_Default_SetsForwardedHeadersRewritesHostAndDropsSpoofedIdentity()
    {
        await using var upstream = await StartMirrorAsync();
        await using var gateway = await TestGateway.StartAsync(ErrorShapeTests.Route("app", upstream.Origin, mcp: false));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/app/page?x=1");
        request.Headers.Add("X-Gatehouse-Jwt-Assertion", "forged");
        request.Headers.Add("X-Pomerium-Jwt-Assertion", "forged");
        request.Headers.Add("Keep-Alive", "timeout=5");
        using var response = await gateway.Client.SendAsync(request, TestContext.Current.CancellationToken);
        using var mirror = await ErrorShapeTests.ReadJsonAsync(response);
        var headers = mirror.RootElement.GetProperty("headers");

        Assert.Equal("/app/page", mirror.RootElement.GetProperty("path").GetString());
        Assert.Equal("?x=1", mirror.RootElement.GetProperty("query").GetString());
        Assert.Equal(upstream.BaseUri.Authority, headers.GetProperty("host").GetString());
        Assert.Equal($"127.0.0.1:{gateway.BaseUri.Port}", headers.GetProperty("x-forwarded-host").GetString());
        Assert.Equal("http", headers.GetProperty("x-forwarded-proto").GetString());
        Assert.True(headers.TryGetProperty("x-forwarded-for", out _));
        Assert.False(headers.TryGetProperty("x-gatehouse-jwt-assertion", out _));
        Assert.False(headers.TryGetProperty("x-pomerium-jwt-assertion", out _));
        Assert.False(headers.TryGetProperty("keep-alive", out _));
    }

    [Fact]
    public async Task Forward_RouteTransforms_RewritePrefixSetRemoveHeadersPreserveHost()
    {
        await using var upstream = await StartMirrorAsync();
        await using var gateway = await TestGateway.StartAsync($"""
              - name: app
                from: http://127.0.0.1
                prefix: /public/api
                prefix_rewrite: /internal
                to: {upstream.Origin}
                allow_public_unauthenticated_access: true
                preserve_host_header: true
                set_request_headers:
                  X-Api-Key: key-from-config
                remove_request_headers: [X-Debug]
            """);

        using var request = new HttpRequestMessage(HttpMethod.Get, "/public/api/items/7");
        request.Headers.Add("X-Debug", "1");
        using var response = await gateway.Client.SendAsync(request, TestContext.Current.CancellationToken);
        using var mirror = await ErrorShapeTests.ReadJsonAsync(response);
        var headers = mirror.RootElement.GetProperty("headers");

        Assert.Equal("/internal/items/7", mirror.RootElement.GetProperty("path").GetString());
        Assert.Equal("key-from-config", headers.GetProperty("x-api-key").GetString());
        Assert.False(headers.TryGetProperty("x-debug", out _));
        Assert.Equal($"127.0.0.1:{gateway.BaseUri.Port}", headers.GetProperty("host").GetString());
    }

    [Fact]
    public async Task Routing_TwoMcpServersOnOneHost_EachPrefixReachesItsOwnServer()
    {
        await using var first = await TestMcpServer.StartAsync("/one", instance: "one");
        await using var second = await TestMcpServer.StartAsync("/two", instance: "two");
        await using var gateway = await TestGateway.StartAsync($"""
              - name: one
                from: http://127.0.0.1
                prefix: /one
                to: {first.Origin}
                allow_public_unauthenticated_access: true
                mcp:
                  server: {"{}"}
              - name: two
                from: http://127.0.0.1
                prefix: /two
                to: {second.Origin}
                allow_public_unauthenticated_access: true
                mcp:
                  server: {"{}"}
            """);

        await using var clientOne = await TestMcpServer.ConnectAsync(new Uri(gateway.BaseUri, "/one"));
        await using var clientTwo = await TestMcpServer.ConnectAsync(new Uri(gateway.BaseUri, "/two"));
        var one = await clientOne.CallToolAsync("whoami", cancellationToken: TestContext.Current.CancellationToken);
        var two = await clientTwo.CallToolAsync("whoami", cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("one", Assert.IsType<ModelContextProtocol.Protocol.TextContentBlock>(one.Content[0]).Text);
        Assert.Equal("two", Assert.IsType<ModelContextProtocol.Protocol.TextContentBlock>(two.Content[0]).Text);
    }

    [Fact]
    public async Task AccessLog_Request_OneLineWithRouteStatusAndNoQueryString()
    {
        await using var upstream = await StartMirrorAsync();
        await using var gateway = await TestGateway.StartAsync(ErrorShapeTests.Route("app", upstream.Origin, mcp: false));

        using var response = await gateway.Client.GetAsync("/app/callback?code=SECRET-CODE&state=xyz", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // The line is written once the response has gone out, which can be just after the client has read it.
        await gateway.Logs.WaitForAsync(e => e.EventId == 1000);
        var line = Assert.Single(gateway.Logs.Entries, e => e.EventId == 1000);
        Assert.Contains("app GET", line.Message, StringComparison.Ordinal);
        Assert.Contains("/app/callback 200", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Message.Contains("SECRET-CODE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Metrics_MetricsAddressConfigured_ServesPrometheusTextOnlyThere()
    {
        await using var upstream = await StartMirrorAsync();
        var metricsPort = ErrorShapeTests.UnusedPort();
        await using var gateway = await TestGateway.StartAsync(ErrorShapeTests.Route("app", upstream.Origin, mcp: false), $"metrics_address: 127.0.0.1:{metricsPort}");
        using (var warmup = await gateway.Client.GetAsync("/app/x", TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, warmup.StatusCode);
        }

        using var metricsClient = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}") };
        string text = "";
        // The exporter collects on scrape; the counter appears once the request above has been recorded.
        for (var attempt = 0; attempt < 50 && !text.Contains("gatehouse_proxy_requests", StringComparison.Ordinal); attempt++)
        {
            text = await metricsClient.GetStringAsync("/metrics", TestContext.Current.CancellationToken);
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        Assert.Contains("gatehouse_proxy_requests", text, StringComparison.Ordinal);
        Assert.Contains("route=\"app\"", text, StringComparison.Ordinal);
        using var other = await metricsClient.GetAsync("/app/x", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        using var notOnMain = await gateway.Client.GetAsync("/metrics", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.NotFound, notOnMain.StatusCode);
    }
}
