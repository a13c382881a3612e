using Gatehouse.Conformance.Server.Hosting;
using Gatehouse.Conformance.Server.Prompts;
using Gatehouse.Conformance.Server.Resources;
using Gatehouse.Conformance.Server.Tools;
using ModelContextProtocol.AspNetCore;

namespace Gatehouse.Conformance.Server;

/// <summary>
/// An MCP server (Streamable HTTP, stateful sessions) that implements every tool, resource, prompt and utility
/// the MCP conformance suite's server scenarios call, under the reference names they expect
/// (<c>test_simple_text</c>, <c>test://static-text</c>, <c>test_simple_prompt</c>, ...).
/// </summary>
public static class ConformanceServer
{
    /// <summary>The path the MCP endpoint is mapped at.</summary>
    public const string McpPath = "/mcp";

    /// <summary>The address used when Program.cs is given no <c>--urls</c>.</summary>
    public const string DefaultUrls = "http://127.0.0.1:3001";

    /// <summary>
    /// Builds the server without starting it. After <c>StartAsync</c>, <c>app.Urls</c> holds the bound address
    /// (use <c>http://127.0.0.1:0</c> for a free port); the MCP endpoint is that address plus <see cref="McpPath"/>.
    /// </summary>
    /// <param name="urls">Semicolon-separated listen URLs; every host must be a loopback address.</param>
    public static WebApplication Build(string urls)
    {
        LoopbackGuard.EnsureLoopbackUrls(urls);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(ConformanceServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.WebHost.UseUrls(urls);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        builder.Services.AddConformanceMcpServer();

        var app = builder.Build();
        app.UseMiddleware<LoopbackGuard>();
        app.UseMiddleware<LegacyProtocolHeaderShim>();
        app.MapMcp(McpPath);
        return app;
    }

    private static IServiceCollection AddConformanceMcpServer(this IServiceCollection services)
    {
        var subscriptions = new ResourceSubscriptions();
        services.AddSingleton(subscriptions);

        // The event stream store lets test_reconnection close its POST stream mid-call and have the client
        // resume on GET with Last-Event-ID (SEP-1699); the in-memory cache keeps it inside this process.
        services.AddDistributedMemoryCache();
        services.AddHttpContextAccessor();

        services
            .AddMcpServer(options =>
            {
                options.ServerInfo = new() { Name = "gatehouse-conformance-server", Version = "1.0.0" };
                options.ServerInstructions = "Reference server for the MCP conformance suite's server scenarios.";
            })
            // Stateful: the suite's sampling, elicitation, logging and SSE resumption scenarios need a session
            // (2.4 defaults to stateless for the 2026-07-28 revision).
            .WithHttpTransport(options => options.SessionMode = HttpServerSessionMode.Stateful)
            .WithDistributedCacheEventStreamStore()
            .WithTools([typeof(ContentTools), typeof(NotificationTools), typeof(ClientRequestTools), typeof(ReconnectionTools)])
            .WithTools([JsonSchemaTool.Create()])
            .WithResources([typeof(ConformanceResources)])
            .WithPrompts([typeof(ConformancePrompts)])
            .WithCompleteHandler(Completions.HandleAsync)
            .WithSubscribeToResourcesHandler(subscriptions.SubscribeAsync)
            .WithUnsubscribeFromResourcesHandler(subscriptions.UnsubscribeAsync)
            .WithSetLoggingLevelHandler(ClientLog.HandleSetLevelAsync);
        return services;
    }
}
