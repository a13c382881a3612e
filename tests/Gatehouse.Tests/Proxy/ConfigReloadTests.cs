using System.Net;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Tests.Proxy;

public sealed class ConfigReloadTests
{
    [Fact]
    public async Task Reload_ValidChange_AppliesWithoutDroppingAnOpenStream()
    {
        var send = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await TestUpstream.StartAsync(app =>
        {
            app.MapGet("/mcp", async (HttpContext context) =>
            {
                context.Response.ContentType = "text/event-stream";
                await context.Response.Body.FlushAsync();
                await send.Task.WaitAsync(context.RequestAborted);
                await context.Response.WriteAsync("data: after-reload\n\n");
                await context.Response.Body.FlushAsync();
            });
            app.MapGet("/added/hello", () => "new route");
        });
        var mcpRoute = ErrorShapeTests.Route("mcp", upstream.Origin, mcp: true);
        await using var gateway = await TestGateway.StartAsync(mcpRoute);

        using var stream = await gateway.Client.GetAsync("/mcp", HttpCompletionOption.ResponseHeadersRead, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(TestContext.Current.CancellationToken));

        await File.WriteAllTextAsync(gateway.ConfigPath, TestGateway.Compose(mcpRoute + ErrorShapeTests.Route("added", upstream.Origin, mcp: false)), TestContext.Current.CancellationToken);
        await WaitForStatusAsync(gateway, "/added/hello", HttpStatusCode.OK);

        send.SetResult();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var evt = await StreamingTests.ReadEventAsync(reader, deadline.Token);
        Assert.Contains("after-reload", evt, StringComparison.Ordinal);
        // The reload is logged just after it is applied, so the new route can answer a moment before the line exists.
        await gateway.Logs.WaitForAsync(e => e.EventId == 100);
    }

    [Fact]
    public async Task Reload_InvalidChange_LoggedAndRunningConfigStays()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/mcp", () => "still here"));
        var mcpRoute = ErrorShapeTests.Route("mcp", upstream.Origin, mcp: true);
        await using var gateway = await TestGateway.StartAsync(mcpRoute);

        await File.WriteAllTextAsync(gateway.ConfigPath, TestGateway.Compose(mcpRoute + "    tls_skip_verify: perhaps\n"), TestContext.Current.CancellationToken);
        await gateway.Logs.WaitForAsync(e => e.EventId == 101);
        var rejected = Assert.Single(gateway.Logs.Entries, e => e.EventId == 101);
        Assert.Contains("routes[0].tls_skip_verify", rejected.Message, StringComparison.Ordinal);
        Assert.Equal("still here", await gateway.Client.GetStringAsync("/mcp", TestContext.Current.CancellationToken));
    }

    private static async Task WaitForStatusAsync(TestGateway gateway, string path, HttpStatusCode expected)
    {
        var last = HttpStatusCode.UnavailableForLegalReasons;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            using var perRequest = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using var response = await gateway.Client.GetAsync(path, perRequest.Token);
            last = response.StatusCode;
            if (last == expected)
            {
                return;
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"{path} answered {last}, not {expected}, after the configuration changed. Log:\n" +
            string.Join("\n", gateway.Logs.Entries.Select(e => $"{e.Level} {e.Category} {e.Message} {e.Exception}")));
    }
}
