using System.Net;
using System.Text;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tests.Proxy;

public sealed class StreamingTests
{
    private static string McpRoute(string to, string extra = "") => $"""
          - name: mcp
            from: http://127.0.0.1
            prefix: /mcp
            to: {to}
            allow_public_unauthenticated_access: true
            mcp:
              server: {"{}"}
        {extra}
        """;

    [Fact]
    public async Task PostSse_FirstEventWhileUpstreamStillOpen_ReachesClientUnbuffered()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await TestUpstream.StartAsync(app => app.MapPost("/mcp", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\n\n");
            await context.Response.Body.FlushAsync();
            // The upstream holds the response open until the client has seen the first event: a buffering proxy
            // would never deliver it and the wait below would time out.
            await release.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await context.Response.WriteAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n");
        }));
        await using var gateway = await TestGateway.StartAsync(McpRoute(upstream.Origin));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp")
        {
            Content = new StringContent("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        using var response = await gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);

        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var first = await ReadEventAsync(reader, deadline.Token);
        Assert.Contains("notifications/progress", first, StringComparison.Ordinal);

        release.SetResult();
        var second = await ReadEventAsync(reader, deadline.Token);
        Assert.Contains("\"id\":1", second, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetSse_IdleLongerThanEveryDefaultTimeout_StaysOpen()
    {
        // YARP's default activity timeout is 100 s and Kestrel's keep-alive 130 s; an MCP GET stream may sit idle
        // far longer. Idle for 105 s, then send: the event must still arrive on the same stream.
        var idle = TimeSpan.FromSeconds(105);
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/mcp", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.Body.FlushAsync();
            await Task.Delay(idle, context.RequestAborted);
            await context.Response.WriteAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n");
            await context.Response.Body.FlushAsync();
        }));
        await using var gateway = await TestGateway.StartAsync(McpRoute(upstream.Origin));
        using var client = new HttpClient { BaseAddress = gateway.BaseUri, Timeout = Timeout.InfiniteTimeSpan };

        using var request = new HttpRequestMessage(HttpMethod.Get, "/mcp");
        request.Headers.Accept.ParseAdd("text/event-stream");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
        using var deadline = new CancellationTokenSource(idle + TimeSpan.FromSeconds(60));
        var evt = await ReadEventAsync(reader, deadline.Token);
        Assert.Contains("list_changed", evt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PostSse_McpRouteTimeout_BoundsOnlyTheWaitForHeadersNotTheStream()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapPost("/mcp", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.Body.FlushAsync();
            // Answered at once, then the result comes after three times the route timeout.
            await Task.Delay(TimeSpan.FromSeconds(3), context.RequestAborted);
            await context.Response.WriteAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n");
        }));
        await using var gateway = await TestGateway.StartAsync(McpRoute(upstream.Origin, "    timeout: 1s"));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp")
        {
            Content = new StringContent("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"slow\"}}", Encoding.UTF8, "application/json"),
        };
        using var response = await gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var result = await ReadEventAsync(reader, deadline.Token);
        Assert.Contains("\"result\"", result, StringComparison.Ordinal);
    }

    [Fact]
    public async Task McpClient_StreamableHttpThroughGateway_CallsToolsAndReceivesProgress()
    {
        await using var upstream = await TestMcpServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(McpRoute(upstream.Origin));

        await using var client = await TestMcpServer.ConnectAsync(new Uri(gateway.BaseUri, "/mcp"));
        var tools = await client.ListToolsAsync(cancellationToken: TestContext.Current.CancellationToken);
        Assert.Contains(tools, t => t.Name == "echo");

        var echo = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["message"] = "through the gateway" }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("through the gateway", Assert.IsType<ModelContextProtocol.Protocol.TextContentBlock>(echo.Content[0]).Text);

        var progress = new List<float>();
        var counted = await client.CallToolAsync("count", new Dictionary<string, object?> { ["to"] = 3 },
            new SyncProgress(p => { lock (progress) { progress.Add(p.Progress); } }), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("counted to 3", Assert.IsType<ModelContextProtocol.Protocol.TextContentBlock>(counted.Content[0]).Text);
        lock (progress)
        {
            // Notifications may be dispatched concurrently by the client; what matters is that all arrived.
            Assert.Equal([1f, 2f, 3f], progress.Order());
        }

        Assert.Empty(gateway.Logs.Errors);
    }

    [Fact]
    public async Task McpClient_LegacySseTransportThroughGateway_CallsTool()
    {
        await using var upstream = await TestMcpServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync(McpRoute(upstream.Origin));

        await using var client = await TestMcpServer.ConnectAsync(new Uri(gateway.BaseUri, "/mcp/sse"), ModelContextProtocol.Client.HttpTransportMode.Sse);
        var echo = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["message"] = "legacy" }, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("legacy", Assert.IsType<ModelContextProtocol.Protocol.TextContentBlock>(echo.Content[0]).Text);
    }

    [Fact]
    public async Task McpSession_TwoUpstreams_EveryCallOfASessionReachesTheUpstreamThatCreatedIt()
    {
        await using var a = await TestMcpServer.StartAsync(instance: "a");
        await using var b = await TestMcpServer.StartAsync(instance: "b");
        await using var gateway = await TestGateway.StartAsync($"""
              - name: balanced
                from: http://127.0.0.1
                prefix: /mcp
                to: [{a.Origin}, {b.Origin}]
                allow_public_unauthenticated_access: true
                mcp:
                  server: {"{}"}
            """);

        for (var session = 0; session < 4; session++)
        {
            await using var client = await TestMcpServer.ConnectAsync(new Uri(gateway.BaseUri, "/mcp"));
            var answers = new HashSet<string>();
            for (var call = 0; call < 5; call++)
            {
                var result = await client.CallToolAsync("whoami", cancellationToken: TestContext.Current.CancellationToken);
                answers.Add(Assert.IsType<ModelContextProtocol.Protocol.TextContentBlock>(result.Content[0]).Text);
            }

            // Without affinity, round-robin would alternate the calls of one session between the two upstreams.
            Assert.Single(answers);
        }

        Assert.Empty(gateway.Logs.Errors);
    }

    [Fact]
    public async Task WebSocket_ThroughClientRoute_EchoesMessages()
    {
        await using var upstream = await TestUpstream.StartAsync(app =>
        {
            app.UseWebSockets();
            app.Map("/ws", async (HttpContext context) =>
            {
                using var socket = await context.WebSockets.AcceptWebSocketAsync();
                var buffer = new byte[1024];
                while (true)
                {
                    var received = await socket.ReceiveAsync(buffer, context.RequestAborted);
                    if (received.MessageType == System.Net.WebSockets.WebSocketMessageType.Close)
                    {
                        await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, context.RequestAborted);
                        return;
                    }

                    await socket.SendAsync(buffer.AsMemory(0, received.Count), received.MessageType, received.EndOfMessage, context.RequestAborted);
                }
            });
        });
        await using var gateway = await TestGateway.StartAsync($"""
              - name: app
                from: http://127.0.0.1
                to: {upstream.Origin}
                allow_public_unauthenticated_access: true
                mcp:
                  client: {"{}"}
            """);

        using var socket = new System.Net.WebSockets.ClientWebSocket();
        await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.BaseUri.Port}/ws"), TestContext.Current.CancellationToken);
        await socket.SendAsync("hello over websocket"u8.ToArray(), System.Net.WebSockets.WebSocketMessageType.Text, true, TestContext.Current.CancellationToken);
        var buffer = new byte[1024];
        var received = await socket.ReceiveAsync(buffer, TestContext.Current.CancellationToken);

        Assert.Equal("hello over websocket", Encoding.UTF8.GetString(buffer, 0, received.Count));
        await socket.CloseAsync(System.Net.WebSockets.WebSocketCloseStatus.NormalClosure, null, TestContext.Current.CancellationToken);
    }

    internal static async Task<string> ReadEventAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        var builder = new StringBuilder();
        while (true)
        {
            var line = await reader.ReadLineAsync(cancellationToken) ?? throw new EndOfStreamException("The stream ended before an event arrived.");
            if (line.Length == 0 && builder.Length > 0)
            {
                return builder.ToString();
            }

            builder.AppendLine(line);
        }
    }

    private sealed class SyncProgress(Action<ModelContextProtocol.ProgressNotificationValue> report) : IProgress<ModelContextProtocol.ProgressNotificationValue>
    {
        public void Report(ModelContextProtocol.ProgressNotificationValue value) => report(value);
    }
}
