using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Servers.Northwind.Tests.Infrastructure;

/// <summary>
/// The real server, built through the public entry point on 127.0.0.1:0 with a database of its own in a
/// fresh temp folder, and a real SDK client connected over Streamable HTTP.
/// </summary>
internal sealed class NorthwindTestServer : IAsyncDisposable
{
    private NorthwindTestServer(TempDirectory directory, WebApplication app, Uri baseUri, McpClient client)
    {
        Directory = directory;
        App = app;
        BaseUri = baseUri;
        Client = client;
    }

    public TempDirectory Directory { get; }

    public WebApplication App { get; }

    public Uri BaseUri { get; }

    public Uri McpEndpoint => new(BaseUri, "/mcp");

    public McpClient Client { get; }

    public string DatabasePath => Directory.File("northwind.db");

    public static async Task<NorthwindTestServer> StartAsync()
    {
        var directory = new TempDirectory();
        var app = NorthwindServer.Build(
            new NorthwindServerOptions { DatabasePath = directory.File("northwind.db"), Urls = "http://127.0.0.1:0" },
            logging => logging.SetMinimumLevel(LogLevel.Warning));
        await app.StartAsync(TestContext.Current.CancellationToken);
        var baseUri = new Uri(app.Urls.Single());
        var client = await ConnectAsync(new Uri(baseUri, "/mcp"), HttpTransportMode.StreamableHttp);
        return new NorthwindTestServer(directory, app, baseUri, client);
    }

    public static Task<McpClient> ConnectAsync(Uri endpoint, HttpTransportMode mode) =>
        McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions { Endpoint = endpoint, TransportMode = mode }),
            cancellationToken: TestContext.Current.CancellationToken);

    public Task<CallToolResult> CallAsync(string tool, string? argument = null, object? value = null) =>
        Client.CallToolAsync(
            tool,
            argument is null ? null : new Dictionary<string, object?> { [argument] = value },
            cancellationToken: TestContext.Current.CancellationToken).AsTask();

    public Task<CallToolResult> QueryAsync(string sql) => CallAsync("query", "sql", sql);

    public async ValueTask DisposeAsync()
    {
        await Client.DisposeAsync();
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
        Directory.Dispose();
    }
}

internal static class CallToolResultExtensions
{
    public static string Text(this CallToolResult result) => Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text;

    public static JsonElement Json(this CallToolResult result)
    {
        Assert.False(result.IsError ?? false, result.Text());
        using var document = JsonDocument.Parse(result.Text());
        return document.RootElement.Clone();
    }
}
