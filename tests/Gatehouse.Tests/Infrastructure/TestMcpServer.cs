using System.ComponentModel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using ModelContextProtocol.Server;

namespace Gatehouse.Tests.Infrastructure;

/// <summary>A real MCP server (C# SDK, Streamable HTTP and the legacy HTTP+SSE endpoints) for proxy tests.</summary>
internal static class TestMcpServer
{
    /// <param name="onRequest">Sees every request before the MCP endpoint does (to record the headers that reached it).</param>
    public static Task<TestUpstream> StartAsync(string path = "/mcp", string instance = "a", Action<HttpRequest>? onRequest = null) =>
        TestUpstream.StartAsync(
            app =>
            {
                if (onRequest is not null)
                {
                    app.Use((context, next) =>
                    {
                        onRequest(context.Request);
                        return next(context);
                    });
                }

                app.MapMcp(path);
            },
            services => services
                .AddSingleton(new InstanceName(instance))
                .AddMcpServer()
                .WithHttpTransport(options =>
                {
                    // Sessions and the legacy HTTP+SSE endpoints are what the gateway must carry for older clients.
                    options.Stateless = false;
#pragma warning disable MCP9004 // Legacy SSE is exactly what this test server must offer; it listens on loopback only.
                    options.EnableLegacySse = true;
#pragma warning restore MCP9004
                })
                .WithTools<EchoTools>());

    public static Task<McpClient> ConnectAsync(Uri endpoint, HttpTransportMode mode = HttpTransportMode.StreamableHttp, IDictionary<string, string>? headers = null) =>
        McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions { Endpoint = endpoint, TransportMode = mode, AdditionalHeaders = headers }),
            cancellationToken: TestContext.Current.CancellationToken);

    internal sealed record InstanceName(string Value);

    [McpServerToolType]
    internal sealed class EchoTools(InstanceName instance)
    {
        [McpServerTool(Name = "echo"), Description("Returns the message it was given.")]
        public static string Echo(string message) => message;

        [McpServerTool(Name = "whoami"), Description("Names the server instance that answered.")]
        public string WhoAmI() => instance.Value;

        [McpServerTool(Name = "count"), Description("Sends progress notifications, then returns.")]
        public static async Task<string> Count(IProgress<ModelContextProtocol.ProgressNotificationValue> progress, int to = 3)
        {
            for (var i = 1; i <= to; i++)
            {
                progress.Report(new ModelContextProtocol.ProgressNotificationValue { Progress = i, Total = to });
                await Task.Delay(10);
            }

            return $"counted to {to}";
        }
    }
}
