using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.ServiceAccounts;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Tests.Policy;

/// <summary>
/// A listing answered inside an event stream, between notifications: only the event that carries the listing is
/// rewritten, and the events around it reach the client as the server sends them, not when the listing arrives.
/// </summary>
public sealed class StreamedListingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ToolsListInEventStream_FilteredWhileNotificationsBeforeAndAfterPassAtOnce()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var upstream = await TestUpstream.StartAsync(app => app.MapPost("/mcp", async (HttpContext context) =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":1}}\n\n", Ct);
            await context.Response.Body.FlushAsync(Ct);
            await release.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct);
            await context.Response.WriteAsync(
                "event: message\nid: e2\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[{\"name\":\"query\"},{\"name\":\"admin_delete\"},{\"name\":\"list_tables\"}]}}\n\n" +
                "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"after\"}}\n\n", Ct);
        }));
        await using var gateway = await TestGateway.StartAsync($$$"""
              - name: sales
                from: http://127.0.0.1
                prefix: /mcp
                to: {{{upstream.Origin}}}
                mcp: {server: {}}
                policy:
                  - allow: {and: [{accept: true}]}
                  - deny: {or: [{mcp_tool: {starts_with: admin_}}]}
            """);
        var (_, token) = await gateway.Services.GetRequiredService<ServiceAccountStore>().CreateAsync("alice@example.com", [], [], TimeSpan.FromHours(1), null, Ct);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp")
        {
            Content = new StringContent("""{"jsonrpc":"2.0","id":7,"method":"tools/list"}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);

        using var response = await gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, Ct);
        using var stream = new StreamReader(await response.Content.ReadAsStreamAsync(Ct));

        // The notification arrives while the server still holds the listing back.
        var first = await ReadEventAsync(stream);
        Assert.Contains("notifications/progress", first, StringComparison.Ordinal);
        release.SetResult();
        var listing = await ReadEventAsync(stream);
        var after = await ReadEventAsync(stream);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("id: e2", listing, StringComparison.Ordinal);
        var data = JsonDocument.Parse(listing.Split('\n').Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..]).RootElement;
        Assert.Equal(["query", "list_tables"], data.GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Contains("\"after\"", after, StringComparison.Ordinal);
    }

    private static async Task<string> ReadEventAsync(StreamReader stream)
    {
        var lines = new StringBuilder();
        while (await stream.ReadLineAsync(Ct).AsTask().WaitAsync(TimeSpan.FromSeconds(20), Ct) is { } line)
        {
            if (line.Length == 0)
            {
                return lines.ToString();
            }

            lines.Append(line).Append('\n');
        }

        return lines.ToString();
    }
}
