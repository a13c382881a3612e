using System.Net;
using System.Net.Sockets;
using Gatehouse.Audit;
using Gatehouse.Cli;
using Gatehouse.Servers.Northwind;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Chat.Tests.Infrastructure;

/// <summary>
/// Everything Gatehouse Chat runs with, each on 127.0.0.1 and stopped on dispose: the real gateway (built-in users
/// alice in sales and bob in engineering), the Northwind MCP server behind it at <c>/northwind</c>, the scripted
/// LLM, and three instances of the chat app as client routes: <c>/chat</c> with the LLM, <c>/runner</c> without one,
/// and <c>/responses</c> with the scripted Responses API, which calls Northwind through the gateway itself.
/// </summary>
internal sealed class ChatStack : IAsyncDisposable
{
    public const string Password = "correct horse battery staple";
    public const string Alice = "alice@example.com";
    public const string Bob = "bob@example.com";
    public const string Model = "scripted-model";
    public const string ApiKey = "test-api-key-never-logged";

    private static readonly Lazy<string> s_hash = new(() => UsersCommand.HashPassword(Password));

    private readonly string _directory;
    private readonly List<IAsyncDisposable> _servers = [];
    private int _northwindToolCalls;

    private ChatStack(string directory) => _directory = directory;

    public TestGateway Gateway { get; private set; } = default!;

    public ScriptedLlm Llm { get; private set; } = default!;

    /// <summary>The scripted Responses API behind <see cref="ResponsesUrl"/>, which calls MCP servers itself.</summary>
    public ScriptedResponsesApi ResponsesApi { get; private set; } = default!;

    public LogSink ChatLogs { get; } = new();

    /// <summary>Where users open the chat with the LLM, and the one without.</summary>
    public Uri ChatUrl => new(Gateway.BaseUri, "/chat/");

    public Uri RunnerUrl => new(Gateway.BaseUri, "/runner/");

    /// <summary>Where users open the chat whose LLM speaks the Responses API with remote MCP tools.</summary>
    public Uri ResponsesUrl => new(Gateway.BaseUri, "/responses/");

    /// <summary>The chat app's own address, bypassing the gateway (as an attacker on the network would reach it).</summary>
    public string ChatDirectUrl { get; private set; } = "";

    /// <summary>The <c>tools/call</c> requests that reached Northwind itself (past the gateway).</summary>
    public int NorthwindToolCalls => Volatile.Read(ref _northwindToolCalls);

    /// <param name="configureGateway">Replaces gateway services, such as its upstream connections.</param>
    public static async Task<ChatStack> StartAsync(Action<IServiceCollection>? configureGateway = null)
    {
        var stack = new ChatStack(Directory.CreateTempSubdirectory("gatehouse-chat-test-").FullName);
        try
        {
            await stack.StartServersAsync(configureGateway);
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    private async Task StartServersAsync(Action<IServiceCollection>? configureGateway)
    {
        var ct = TestContext.Current.CancellationToken;
        var northwind = NorthwindServer.Build(
            new NorthwindServerOptions { DatabasePath = Path.Combine(_directory, "northwind.db"), Urls = "http://127.0.0.1:0", McpPath = "/northwind" },
            logging => logging.ClearProviders());
        northwind.Use(async (context, next) =>
        {
            context.Request.EnableBuffering();
            using var reader = new StreamReader(context.Request.Body, leaveOpen: true);
            if ((await reader.ReadToEndAsync(context.RequestAborted)).Contains("\"tools/call\"", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _northwindToolCalls);
            }

            context.Request.Body.Position = 0;
            await next(context);
        });
        _servers.Add(northwind);
        await northwind.StartAsync(ct);

        Llm = await ScriptedLlm.StartAsync();
        _servers.Add(Llm);
        ResponsesApi = await ScriptedResponsesApi.StartAsync();
        _servers.Add(ResponsesApi);

        // A plain web app behind the gateway, which shows the headers it receives: its identity assertion is
        // genuine but made for another route.
        var echo = await TestUpstream.StartAsync(app => app.Map("/echo", branch => branch.Run(context => context.Response.WriteAsJsonAsync(
            context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()), context.RequestAborted))));
        _servers.Add(echo);

        // The chat apps must know the gateway's public URL before the gateway knows theirs: the gateway gets a port
        // chosen in advance.
        var port = FreePort();
        var gatewayOrigin = $"http://127.0.0.1:{port}";
        var chat = ChatDirectUrl = await StartChatAsync(new ChatAppOptions
        {
            Urls = "http://127.0.0.1:0",
            PublicUrl = new Uri(gatewayOrigin + "/chat/"),
            Llm = new LlmOptions { Endpoint = Llm.Endpoint, ApiKey = ApiKey, Models = [Model] },
            DatabasePath = Path.Combine(_directory, "chat.db"),
        });
        var runner = await StartChatAsync(new ChatAppOptions { Urls = "http://127.0.0.1:0", PublicUrl = new Uri(gatewayOrigin + "/runner/") });
        var responses = await StartChatAsync(new ChatAppOptions
        {
            Urls = "http://127.0.0.1:0",
            PublicUrl = new Uri(gatewayOrigin + "/responses/"),
            Llm = new LlmOptions { Endpoint = ResponsesApi.Endpoint, ApiKey = ApiKey, Models = [Model], Api = LlmApi.Responses },
            DatabasePath = Path.Combine(_directory, "responses-chat.db"),
        });

        _routes = $$"""
              - name: chat
                from: http://127.0.0.1
                prefix: /chat/
                to: {{chat}}
                mcp:
                  client: {}
              - name: runner
                from: http://127.0.0.1
                prefix: /runner/
                to: {{runner}}
                mcp:
                  client: {}
              - name: responses
                from: http://127.0.0.1
                prefix: /responses/
                to: {{responses}}
                mcp:
                  client: {}
              - name: echo
                from: http://127.0.0.1
                prefix: /echo
                to: {{echo.Origin}}
              - name: northwind
                description: Northwind sales database
                from: http://127.0.0.1
                prefix: /northwind
                to: {{new Uri(northwind.Urls.First()).GetLeftPart(UriPartial.Authority)}}
                mcp:
                  server: {}
                policy:
                  - allow:
                      or:
                        - groups: {has: sales}
                        - groups: {has: engineering}
            """;
        _topLevel = $$"""
            address: 127.0.0.1:{{port}}
            data_dir: {{_directory}}
            idp:
              provider: builtin
              users:
                - {email: {{Alice}}, name: Alice, groups: [sales], password_hash: '{{s_hash.Value}}'}
                - {email: {{Bob}}, name: Bob, groups: [engineering], password_hash: '{{s_hash.Value}}'}
            """;
        Gateway = await TestGateway.StartAsync(_routes, _topLevel, configureGateway);
    }

    private string _routes = "";
    private string _topLevel = "";

    /// <summary>
    /// Changes Northwind's policy while the gateway runs, as an administrator would: engineering may no longer run
    /// <c>query</c> (the demo's rule). Returns once the gateway applied it.
    /// </summary>
    public async Task DenyQueryToEngineeringAsync()
    {
        var reloads = Gateway.Logs.Entries.Count(e => e.EventId == 100);
        var routes = _routes + "\n" + """
                  - deny:
                      and:
                        - groups: {has: engineering}
                        - mcp_tool: {is: query}

            """;
        await File.WriteAllTextAsync(Gateway.ConfigPath, TestGateway.Compose(routes, _topLevel), TestContext.Current.CancellationToken);
        for (var attempt = 0; attempt < 200 && Gateway.Logs.Entries.Count(e => e.EventId == 100) == reloads; attempt++)
        {
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        Assert.True(Gateway.Logs.Entries.Count(e => e.EventId == 100) > reloads, "The gateway did not reload its configuration within 10 s.");
    }

    /// <summary>Audit records of <paramref name="email"/> for tools/call, waiting (bounded) until there are <paramref name="expected"/>.</summary>
    public async Task<List<AuditEntry>> ToolCallAuditAsync(string email, int expected)
    {
        var reader = new AuditLogReader(Gateway.Services.GetRequiredService<IServiceScopeFactory>());
        for (var attempt = 0; ; attempt++)
        {
            var (entries, _) = await reader.ReadAsync(new AuditFilter { Email = email }, TestContext.Current.CancellationToken);
            var calls = entries.Where(e => e.Method == "tools/call").ToList();
            if (calls.Count >= expected || attempt == 100)
            {
                return calls;
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    private async Task<string> StartChatAsync(ChatAppOptions options)
    {
        var app = ChatApp.Build(options, logging =>
        {
            logging.ClearProviders();
            logging.SetMinimumLevel(LogLevel.Information);
            logging.AddProvider(ChatLogs);
        });
        _servers.Add(app);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new Uri(app.Urls.First()).GetLeftPart(UriPartial.Authority);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>
    /// Stops <paramref name="stack"/> (when it started), then checks what it logged: no error in the gateway or the
    /// chat apps (an unhandled exception is a 500 whatever the browser showed), and no secret in the apps' logs: not
    /// the LLM's API key, not a token (JWTs start with <c>eyJ</c>).
    /// </summary>
    public static async Task StopAndCheckLogsAsync(ChatStack? stack)
    {
        if (stack is null)
        {
            return;
        }

        var gatewayErrors = stack.Gateway?.Logs.UnexpectedErrors.ToList() ?? [];
        var chatErrors = stack.ChatLogs.Errors.ToList();
        var chatLog = string.Join("\n", stack.ChatLogs.Entries.Select(e => e.Message));
        await stack.DisposeAsync();

        Assert.Empty(gatewayErrors);
        Assert.Empty(chatErrors);
        Assert.DoesNotContain(ApiKey, chatLog, StringComparison.Ordinal);
        Assert.DoesNotMatch(TokenShapes.Jwt(), chatLog);
    }

    /// <summary>Opens <paramref name="url"/> signed out: the gateway asks for sign-in first, then sends the browser back.</summary>
    public static async Task SignInAsync(Microsoft.Playwright.IPage page, Uri url, string email)
    {
        await page.GotoAsync(url.ToString());
        await Microsoft.Playwright.Assertions.Expect(page).ToHaveTitleAsync("Sign in · Gatehouse");
        await page.GetByLabel("Email").FillAsync(email);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(Microsoft.Playwright.AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Microsoft.Playwright.Assertions.Expect(page).ToHaveURLAsync(url.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        if (Gateway is not null)
        {
            await Gateway.DisposeAsync();
        }

        foreach (var server in Enumerable.Reverse(_servers))
        {
            if (server is WebApplication app)
            {
                using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await app.StopAsync(stop.Token);
            }

            await server.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
