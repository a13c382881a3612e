using System.Collections.Concurrent;
using System.ComponentModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.Audit;
using Gatehouse.ServiceAccounts;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Server;

namespace Gatehouse.Tests.Policy;

/// <summary>
/// Policies enforced by the running gateway on every JSON-RPC message, each bypass attempt refused, listings
/// filtered, and every message in the audit log. A real MCP server (C# SDK, stateless) records what reaches it.
/// </summary>
public sealed class PolicyEnforcementTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<string> _reached = new();
    private TestUpstream? _upstream;
    private TestGateway? _gateway;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private TestGateway Gateway => _gateway!;

    public async ValueTask InitializeAsync()
    {
        _upstream = await TestUpstream.StartAsync(
            app =>
            {
                app.Use(async (context, next) =>
                {
                    if (HttpMethods.IsPost(context.Request.Method))
                    {
                        context.Request.EnableBuffering();
                        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8, leaveOpen: true);
                        _reached.Enqueue(await reader.ReadToEndAsync());
                        context.Request.Body.Position = 0;
                    }

                    await next(context);
                });
                app.MapMcp("/mcp");
            },
            services => services.AddMcpServer().WithHttpTransport(o => o.Stateless = true).WithTools<SalesTools>());

        _gateway = await TestGateway.StartAsync($$$"""
              - name: sales
                from: http://127.0.0.1
                prefix: /mcp
                to: {{{_upstream.Origin}}}
                mcp: {server: {}}
                policy:
                  - deny:
                      or:
                        - mcp_tool: {starts_with: admin_}
                  - deny:
                      and:
                        - groups: {has: engineering}
                        - mcp_tool: {is: query}
            """, """
            policy:
              - allow:
                  or:
                    - groups: {has: sales}
                    - groups: {has: engineering}
            audit:
              arguments: {redact_keys: [password]}
            """);
    }

    public async ValueTask DisposeAsync()
    {
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }

        if (_upstream is not null)
        {
            await _upstream.DisposeAsync();
        }
    }

    private async Task<string> TokenAsync(string email, params string[] groups) =>
        (await Gateway.Services.GetRequiredService<ServiceAccountStore>().CreateAsync(email, groups, [], TimeSpan.FromHours(1), null, Ct)).Token;

    private async Task<(HttpResponseMessage Response, string Body)> PostAsync(string token, string json, string contentType = "application/json", Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = new StringContent(json, Encoding.UTF8) };
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        request.Headers.Add("MCP-Protocol-Version", "2025-06-18");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        configure?.Invoke(request);
        var response = await Gateway.Client.SendAsync(request, Ct);
        return (response, await response.Content.ReadAsStringAsync(Ct));
    }

    private static string Call(string tool, int id = 1, string arguments = "{}") =>
        $$$"""{"jsonrpc":"2.0","id":{{{id}}},"method":"tools/call","params":{"name":"{{{tool}}}","arguments":{{{arguments}}}}}""";

    /// <summary>The JSON-RPC message in a JSON answer or the last data line of an event stream.</summary>
    private static JsonElement Message(string body)
    {
        var json = body.TrimStart().StartsWith('{') || body.TrimStart().StartsWith('[')
            ? body
            : body.Split('\n').Last(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..];
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    private async Task<List<AuditEntry>> AuditAsync(AuditFilter filter, int expected)
    {
        var reader = new AuditLogReader(Gateway.Services.GetRequiredService<IServiceScopeFactory>());
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var (entries, _) = await reader.ReadAsync(filter, Ct);
            if (entries.Count >= expected)
            {
                return entries;
            }

            await Task.Delay(100, Ct);
        }

        throw new Xunit.Sdk.XunitException($"fewer than {expected} audit records within 10 s");
    }

    [Fact]
    public async Task AllowedTool_ReachesServer_AuditedWithRedactedArguments()
    {
        var alice = await TokenAsync("alice@example.com", "sales");

        var (response, body) = await PostAsync(alice, Call("query", 3, """{"sql":"SELECT 1","password":"hunter2"}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("rows for SELECT 1", Message(body).GetProperty("result").GetProperty("content")[0].GetProperty("text").GetString());
        var entry = Assert.Single(await AuditAsync(new AuditFilter { Target = "query" }, 1));
        Assert.Equal(AuditDecision.Allowed, entry.Decision);
        Assert.Equal("alice@example.com", entry.Email);
        Assert.Equal("tools/call", entry.Method);
        Assert.Equal("3", entry.JsonRpcId);
        Assert.Equal(200, entry.UpstreamStatus);
        Assert.Contains("SELECT 1", entry.Arguments, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", entry.Arguments, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeniedTool_JsonRpcErrorWithRequestIdNamingNoRule_ServerNeverSeesIt_Audited()
    {
        var alice = await TokenAsync("alice@example.com", "sales");

        var (response, body) = await PostAsync(alice, Call("admin_delete", 4));
        var error = Message(body).GetProperty("error");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(4, Message(body).GetProperty("id").GetInt32());
        Assert.Equal(-32054, error.GetProperty("code").GetInt32());
        var requestId = error.GetProperty("data").GetProperty("request_id").GetString();
        Assert.False(string.IsNullOrEmpty(requestId));
        Assert.DoesNotContain("routes[", error.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(_reached);
        var entry = Assert.Single(await AuditAsync(new AuditFilter { RequestId = requestId }, 1));
        Assert.Equal(AuditDecision.Denied, entry.Decision);
        Assert.Equal("admin_delete", entry.Target);
        Assert.Equal("routes[0].policy[0].deny", entry.Rule);
    }

    [Fact]
    public async Task GroupRule_EngineeringDeniedQueryThatSalesMayRun_UserWithoutGroupDeniedEverything()
    {
        var bob = await TokenAsync("bob@example.com", "engineering");
        var carol = await TokenAsync("carol@example.com");

        var (_, bobQuery) = await PostAsync(bob, Call("query"));
        var (_, bobTables) = await PostAsync(bob, Call("list_tables"));
        var (_, carolInitialize) = await PostAsync(carol, """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}""");

        Assert.Equal(-32054, Message(bobQuery).GetProperty("error").GetProperty("code").GetInt32());
        Assert.True(Message(bobTables).TryGetProperty("result", out _));
        Assert.Equal(-32054, Message(carolInitialize).GetProperty("error").GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task Batch_WithOneDeniedElement_ErrorForEveryRequestAndNothingReachesServer()
    {
        var alice = await TokenAsync("alice@example.com", "sales");

        var (response, body) = await PostAsync(alice, $$"""[{{Call("query", 1)}},{"jsonrpc":"2.0","method":"notifications/initialized"},{{Call("admin_reset", 2)}}]""");
        var answers = Message(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, answers.GetArrayLength());
        Assert.All(answers.EnumerateArray(), a => Assert.Equal(-32054, a.GetProperty("error").GetProperty("code").GetInt32()));
        Assert.Contains("another request of this batch", answers[0].GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(_reached);
    }

    [Fact]
    public async Task ToolsList_FilteredPerUser()
    {
        var alice = await TokenAsync("alice@example.com", "sales");
        var bob = await TokenAsync("bob@example.com", "engineering");
        const string List = """{"jsonrpc":"2.0","id":5,"method":"tools/list"}""";

        var (_, forAlice) = await PostAsync(alice, List);
        var (_, forBob) = await PostAsync(bob, List);

        static string[] Names(string body) => [.. Message(body).GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()!).Order()];
        Assert.Equal(["list_tables", "query"], Names(forAlice));
        Assert.Equal(["list_tables"], Names(forBob));
    }

    public static TheoryData<string, string, string, int, int> Bypasses => new()
    {
        { "text/plain content type", "text/plain", Call("admin_delete"), 415, -32600 },
        { "form content type", "application/x-www-form-urlencoded", Call("admin_delete"), 415, -32600 },
        { "malformed JSON", "application/json", """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"admin_delete" """, 400, -32700 },
        { "duplicate name", "application/json", """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query","name":"admin_delete"}}""", 400, -32600 },
        { "escaped duplicate name", "application/json", """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"query","n\u0061me":"admin_delete"}}""", 400, -32600 },
        { "duplicate method", "application/json", """{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call","params":{"name":"admin_delete"}}""", 400, -32600 },
        { "method in another case", "application/json", """{"jsonrpc":"2.0","id":1,"method":"Tools/Call","params":{"name":"admin_delete"}}""", 400, -32600 },
        { "tool name with a space", "application/json", """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"admin_delete "}}""", 400, -32602 },
        { "tool name with unicode", "application/json", """{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"admin\u200b_delete"}}""", 400, -32602 },
    };

    [Theory]
    [MemberData(nameof(Bypasses))]
    public async Task BypassAttempt_RefusedWithSpecificStatusAndCode_NothingReachesServer(string attack, string contentType, string json, int status, int code)
    {
        var alice = await TokenAsync("alice@example.com", "sales");

        var (response, body) = await PostAsync(alice, json, contentType);

        Assert.True((int)response.StatusCode == status, $"{attack}: {(int)response.StatusCode} {body}");
        Assert.Equal(code, Message(body).GetProperty("error").GetProperty("code").GetInt32());
        Assert.Empty(_reached);
        Assert.Equal(AuditDecision.Refused, Assert.Single(await AuditAsync(new AuditFilter { Email = "alice@example.com" }, 1)).Decision);
    }

    [Fact]
    public async Task BypassAttempt_2026HeadersNamingAnotherTool_Refused()
    {
        var alice = await TokenAsync("alice@example.com", "sales");

        var (response, body) = await PostAsync(alice, Call("admin_delete"), configure: request =>
        {
            request.Headers.Remove("MCP-Protocol-Version");
            request.Headers.Add("MCP-Protocol-Version", "2026-07-28");
            request.Headers.Add("Mcp-Method", "tools/call");
            request.Headers.Add("Mcp-Name", "query");
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Mcp-Name", Message(body).GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(_reached);
    }

    [Fact]
    public async Task FailedCall_UpstreamError_AuditedAsFailedWithItsCode_ReadBackThroughTheCli()
    {
        var alice = await TokenAsync("alice@example.com", "sales");
        await PostAsync(alice, Call("query", 1, """{"sql":"SELECT 1"}"""));
        await PostAsync(alice, Call("admin_delete", 2));
        await PostAsync(alice, """{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"no_such_tool"}}""");
        await AuditAsync(new AuditFilter { Email = "alice@example.com" }, 3);

        var cli = await InProcessCli.AuditAsync("--config", Gateway.ConfigPath, "--user", "alice@example.com", "--json");
        var records = cli.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();

        Assert.Equal(0, cli.ExitCode);
        Assert.Equal(["allowed", "denied", "failed"], records.Select(r => r.GetProperty("decision").GetString()));
        Assert.Equal(["query", "admin_delete", "no_such_tool"], records.Select(r => r.GetProperty("target").GetString()));
        var denied = await InProcessCli.AuditAsync("--config", Gateway.ConfigPath, "--decision", "denied");
        Assert.Contains("admin_delete", denied.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("no_such_tool", denied.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ServerStream_UserTheTopLevelPolicyRefuses_403()
    {
        var carol = await TokenAsync("carol@example.com");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/mcp");
        request.Headers.Accept.ParseAdd("text/event-stream");
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", carol);

        using var response = await Gateway.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(-32054, Message(await response.Content.ReadAsStringAsync(Ct)).GetProperty("error").GetProperty("code").GetInt32());
    }

    [McpServerToolType]
    internal sealed class SalesTools
    {
        [McpServerTool(Name = "query"), Description("Runs read-only SQL.")]
        public static string Query(string sql) => "rows for " + sql;

        [McpServerTool(Name = "list_tables"), Description("Lists the tables.")]
        public static string ListTables() => "orders";

        [McpServerTool(Name = "admin_delete"), Description("Deletes everything.")]
        public static string AdminDelete() => "deleted";

        [McpServerTool(Name = "admin_reset"), Description("Resets everything.")]
        public static string AdminReset() => "reset";
    }
}
