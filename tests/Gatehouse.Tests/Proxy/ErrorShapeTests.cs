using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tests.Proxy;

public sealed class ErrorShapeTests
{
    private const string ToolCall = "{\"jsonrpc\":\"2.0\",\"id\":\"req-42\",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}";

    [Fact]
    public async Task Post_UpstreamUnreachable_502JsonRpcErrorEchoingId()
    {
        await using var gateway = await TestGateway.StartAsync(Route("mcp", $"http://127.0.0.1:{UnusedPort()}", mcp: true));

        using var response = await PostJsonAsync(gateway, "/mcp", ToolCall);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        using var body = await ReadJsonAsync(response);
        Assert.Equal("2.0", body.RootElement.GetProperty("jsonrpc").GetString());
        Assert.Equal("req-42", body.RootElement.GetProperty("id").GetString());
        Assert.Equal(-32050, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Get_HttpRouteUpstreamUnreachable_502ProblemDetails()
    {
        await using var gateway = await TestGateway.StartAsync(Route("web", $"http://127.0.0.1:{UnusedPort()}", mcp: false));

        using var response = await gateway.Client.GetAsync("/web/page", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var body = await ReadJsonAsync(response);
        Assert.Equal(502, body.RootElement.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task Post_UpstreamSlowerThanTimeout_504JsonRpcErrorEchoingId()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapPost("/mcp", async (HttpContext context) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
        }));
        await using var gateway = await TestGateway.StartAsync(Route("mcp", upstream.Origin, mcp: true, extra: "    timeout: 1s"));

        using var response = await PostJsonAsync(gateway, "/mcp", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\"}}");

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        using var body = await ReadJsonAsync(response);
        Assert.Equal(7, body.RootElement.GetProperty("id").GetInt32());
        Assert.Equal(-32051, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Get_UpstreamSilentLongerThanIdleTimeout_504ProblemDetails()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/web/slow", async (HttpContext context) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
        }));
        await using var gateway = await TestGateway.StartAsync(Route("web", upstream.Origin, mcp: false, extra: "    idle_timeout: 1s"));

        using var response = await gateway.Client.GetAsync("/web/slow", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Post_BodyOverMaxRequestBytes_413JsonRpcErrorAndUpstreamNotCalled()
    {
        var calls = 0;
        await using var upstream = await TestUpstream.StartAsync(app => app.MapPost("/mcp", () =>
        {
            Interlocked.Increment(ref calls);
            return Results.Ok();
        }));
        await using var gateway = await TestGateway.StartAsync($"""
              - name: mcp
                from: http://127.0.0.1
                prefix: /mcp
                to: {upstream.Origin}
                allow_public_unauthenticated_access: true
                mcp:
                  server:
                    max_request_bytes: 1024
            """);
        var big = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"message\":\"" + new string('x', 2000) + "\"}}}";

        using var withLength = await PostJsonAsync(gateway, "/mcp", big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, withLength.StatusCode);
        using (var body = await ReadJsonAsync(withLength))
        {
            Assert.Equal(-32600, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
            Assert.Contains("1024", body.RootElement.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        // Chunked, so the gateway cannot judge by Content-Length and must count.
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = new ChunkedContent(Encoding.UTF8.GetBytes(big)) };
        chunked.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var chunkedResponse = await gateway.Client.SendAsync(chunked, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunkedResponse.StatusCode);

        using var small = await PostJsonAsync(gateway, "/mcp", ToolCall);
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task Post_ForeignOrigin_403AndUpstreamNotCalled()
    {
        var calls = 0;
        await using var upstream = await TestUpstream.StartAsync(app => app.MapPost("/mcp", () =>
        {
            Interlocked.Increment(ref calls);
            return Results.Ok();
        }));
        await using var gateway = await TestGateway.StartAsync(Route("mcp", upstream.Origin, mcp: true), "cors_allowed_origins: [https://app.example.com]");

        using var foreign = await PostJsonAsync(gateway, "/mcp", ToolCall, origin: "https://evil.example");
        Assert.Equal(HttpStatusCode.Forbidden, foreign.StatusCode);
        using (var body = await ReadJsonAsync(foreign))
        {
            Assert.Equal(-32600, body.RootElement.GetProperty("error").GetProperty("code").GetInt32());
        }

        using var allowed = await PostJsonAsync(gateway, "/mcp", ToolCall, origin: "https://app.example.com");
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal("https://app.example.com", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var sameOrigin = await PostJsonAsync(gateway, "/mcp", ToolCall, origin: $"http://127.0.0.1:{gateway.BaseUri.Port}");
        Assert.Equal(HttpStatusCode.OK, sameOrigin.StatusCode);

        using var noOrigin = await PostJsonAsync(gateway, "/mcp", ToolCall);
        Assert.Equal(HttpStatusCode.OK, noOrigin.StatusCode);
        Assert.Equal(3, calls);
    }

    [Fact]
    public async Task Post_UpstreamSendsItsOwnCorsHeaders_ClientSeesOnlyTheGatewaysOrigin()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapPost("/mcp", (HttpContext context) =>
        {
            context.Response.Headers.AccessControlAllowOrigin = "*";
            context.Response.Headers.AccessControlAllowCredentials = "true";
            return Results.Ok();
        }));
        await using var gateway = await TestGateway.StartAsync(Route("mcp", upstream.Origin, mcp: true), "cors_allowed_origins: [https://app.example.com]");

        using var response = await PostJsonAsync(gateway, "/mcp", ToolCall, origin: "https://app.example.com");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["https://app.example.com"], response.Headers.GetValues("Access-Control-Allow-Origin"));
        Assert.False(response.Headers.Contains("Access-Control-Allow-Credentials"));
    }

    [Fact]
    public async Task Options_PreflightFromAllowedOrigin_AnsweredByGatewayWithMcpHeaders()
    {
        var calls = 0;
        await using var upstream = await TestUpstream.StartAsync(app => app.Map("/mcp", () =>
        {
            Interlocked.Increment(ref calls);
            return Results.Ok();
        }));
        await using var gateway = await TestGateway.StartAsync(Route("mcp", upstream.Origin, mcp: true), "cors_allowed_origins: [https://app.example.com]");

        using var request = new HttpRequestMessage(HttpMethod.Options, "/mcp");
        request.Headers.Add("Origin", "https://app.example.com");
        request.Headers.Add("Access-Control-Request-Method", "POST");
        request.Headers.Add("Access-Control-Request-Headers", "mcp-session-id, authorization");
        using var response = await gateway.Client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("https://app.example.com", response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("DELETE", response.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
        Assert.Contains("Mcp-Session-Id", response.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.Ordinal);
        Assert.Contains("WWW-Authenticate", response.Headers.GetValues("Access-Control-Expose-Headers").Single(), StringComparison.Ordinal);
        Assert.Equal(0, calls);

        using var evil = new HttpRequestMessage(HttpMethod.Options, "/mcp");
        evil.Headers.Add("Origin", "https://evil.example");
        evil.Headers.Add("Access-Control-Request-Method", "POST");
        using var refused = await gateway.Client.SendAsync(evil, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Get_HostNoRouteServes_404ProblemDetails()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/", () => "hello"));
        await using var gateway = await TestGateway.StartAsync($"""
              - name: only
                from: https://mcp.example.com
                to: {upstream.Origin}
                allow_public_unauthenticated_access: true
            """);

        using var response = await gateway.Client.GetAsync("/", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);

        using var routed = new HttpRequestMessage(HttpMethod.Get, "/");
        routed.Headers.Host = "mcp.example.com";
        using var ok = await gateway.Client.SendAsync(routed, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task Health_LivenessAndReadiness_Answer200()
    {
        await using var gateway = await TestGateway.StartAsync(Route("web", $"http://127.0.0.1:{UnusedPort()}", mcp: false));

        using var live = await gateway.Client.GetAsync("/healthz", TestContext.Current.CancellationToken);
        using var ready = await gateway.Client.GetAsync("/readyz", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = await ReadJsonAsync(ready);
        Assert.Equal("ready", body.RootElement.GetProperty("status").GetString());
        Assert.Equal(1, body.RootElement.GetProperty("routes").GetInt32());
    }

    internal static string Route(string name, string to, bool mcp, string extra = "") => $"""
          - name: {name}
            from: http://127.0.0.1
            prefix: /{name}
            to: {to}
            allow_public_unauthenticated_access: true
        {(mcp ? "    mcp:\n      server: {}" : "")}
        {extra}
        """;

    internal static async Task<HttpResponseMessage> PostJsonAsync(TestGateway gateway, string path, string json, string? origin = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        if (origin is not null)
        {
            request.Headers.Add("Origin", origin);
        }

        return await gateway.Client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    internal static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response) =>
        await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken), cancellationToken: TestContext.Current.CancellationToken);

    /// <summary>A loopback port with nothing listening: bound, then released.</summary>
    internal static int UnusedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class ChunkedContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
