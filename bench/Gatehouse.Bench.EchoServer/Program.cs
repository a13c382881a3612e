using System.Net;
using Gatehouse.Bench.EchoServer;

// `dotnet bench/Gatehouse.Bench.EchoServer/bin/Release/net10.0/Gatehouse.Bench.EchoServer.dll --urls http://127.0.0.1:18081`
// An MCP server (Streamable HTTP, stateless: the SDK 2.4 default) with one `echo` tool at /mcp, used as the upstream
// of bench/run.sh. /protected serves the same: it is the path of the gateway's protected route, which forwards it
// unchanged, so that the public and the protected routes differ in nothing but authentication. SDK 2.4 has no JSON-response mode (csharp-sdk issue #545), so each answer is a one-event SSE stream.
var urls = new ConfigurationBuilder().AddCommandLine(args).Build()["urls"] ?? "http://127.0.0.1:18081";
foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
{
    // This server has no authentication: it must never be reachable from another machine.
    if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) || !IPAddress.IsLoopback(address))
    {
        await Console.Error.WriteLineAsync($"--urls '{url}' is not a loopback address; use http://127.0.0.1:PORT.");
        return 2;
    }
}

var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ApplicationName = "Gatehouse.Bench.EchoServer" });
builder.WebHost.UseUrls(urls);
builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services
    .AddMcpServer(options => options.ServerInfo = new() { Name = "gatehouse-bench-echo", Version = "1.0.0" })
    .WithHttpTransport()
    .WithTools([typeof(EchoTool)]);

await using var app = builder.Build();
app.MapMcp("/mcp");
app.MapMcp("/protected");
await app.StartAsync();
foreach (var url in app.Urls)
{
    Console.WriteLine($"Echo server is listening on {url}");
}

await app.WaitForShutdownAsync();
return 0;
