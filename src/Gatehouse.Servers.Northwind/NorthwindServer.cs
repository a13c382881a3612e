using Gatehouse.Servers.Northwind.Data;
using Gatehouse.Servers.Northwind.Query;
using Gatehouse.Servers.Northwind.Schema;
using Gatehouse.Servers.Northwind.Tools;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Servers.Northwind;

/// <summary>
/// The Northwind reference MCP server: a read-only SQL window on a generated sales database, served over
/// Streamable HTTP. The gateway hosts it in-process for <c>gatehouse demo</c>; Program.cs runs it standalone.
/// </summary>
public static class NorthwindServer
{
    /// <summary>
    /// Builds the server, generating the database first if the file is missing. The application is not started:
    /// the caller runs <c>StartAsync</c>/<c>StopAsync</c> (or <c>RunAsync</c>) and, after start, finds the bound
    /// addresses in <c>app.Urls</c>.
    /// </summary>
    /// <param name="options">Database path, listen addresses and MCP path.</param>
    /// <param name="configureLogging">
    /// Sets up logging. The builder starts with no providers, so that a host embedding the server decides where
    /// its logs go; when null, logs go to the console.
    /// </param>
    public static WebApplication Build(NorthwindServerOptions options, Action<ILoggingBuilder>? configureLogging = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        // The empty builder reads no appsettings.json, environment variables or command line: embedded in the
        // gateway, the host's ASPNETCORE_URLS or Kestrel settings must not move this server elsewhere.
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(NorthwindServer).Assembly.GetName().Name,
        });
        builder.WebHost.UseKestrelCore().UseUrls(options.Urls);
        builder.Services.AddRouting();

        if (configureLogging is null)
        {
            builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
            builder.Logging.AddFilter("ModelContextProtocol", LogLevel.Warning);
        }
        else
        {
            configureLogging(builder.Logging);
        }

        var database = new NorthwindDatabase(options.DatabasePath);
        builder.Services.AddSingleton(database);
        builder.Services.AddSingleton(QueryLimits.Default);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SchemaCatalog>();
        builder.Services.AddSingleton<ReadOnlyQueryRunner>();

        builder.Services
            .AddMcpServer(mcp =>
            {
                mcp.ServerInfo = new Implementation
                {
                    Name = "gatehouse-northwind",
                    Title = "Northwind sales database",
                    Version = typeof(NorthwindServer).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
                };
                mcp.ServerInstructions =
                    "Answers questions about Northwind's sales (customers, orders, products, employees, 2022-2025). " +
                    "Read the northwind://schema resource or call list_tables/describe_table, then use the query tool " +
                    "with one read-only SELECT.";
            })
            .WithHttpTransport(http =>
            {
                // Stateful sessions: the gateway proxies clients that use the initialize handshake and
                // Mcp-Session-Id, and the legacy SSE endpoints need in-memory sessions anyway.
                http.SessionMode = HttpServerSessionMode.Stateful;

                // The legacy HTTP+SSE endpoints ({McpPath}/sse and {McpPath}/message) stay on so the gateway can
                // demonstrate older clients. The SDK marks this obsolete because /message has no backpressure; the
                // risk it names is accepted here because this demo server listens on loopback behind the gateway.
#pragma warning disable MCP9004
                http.EnableLegacySse = true;
#pragma warning restore MCP9004
            })
            .WithTools<NorthwindTools>()
            .WithResources<SchemaResources>();

        var app = builder.Build();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(NorthwindServer).FullName!);
        database.EnsureCreated(logger);
        app.MapMcp(options.McpPath);

        // With port 0 the address is known only once Kestrel has bound it.
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var url in app.Urls)
            {
                Log.Listening(logger, $"{url.TrimEnd('/')}{options.McpPath}");
            }
        });
        return app;
    }
}
