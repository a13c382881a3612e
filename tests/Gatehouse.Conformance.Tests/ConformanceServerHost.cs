using Gatehouse.Conformance.Server;
using Microsoft.AspNetCore.Builder;

namespace Gatehouse.Conformance.Tests;

/// <summary>
/// The conformance server running in-process on 127.0.0.1 with a free port; disposing it stops the server.
/// A gateway test can point a route at <see cref="McpUrl"/>.
/// </summary>
public sealed class ConformanceServerHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ConformanceServerHost(WebApplication app, string baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    /// <summary>The bound address, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string BaseUrl { get; }

    /// <summary>The MCP endpoint: <see cref="BaseUrl"/> plus <see cref="ConformanceServer.McpPath"/>.</summary>
    public string McpUrl => BaseUrl + ConformanceServer.McpPath;

    public static async Task<ConformanceServerHost> StartAsync(CancellationToken cancellationToken = default)
    {
        var app = ConformanceServer.Build("http://127.0.0.1:0");
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var baseUrl = app.Urls.Single().TrimEnd('/');
        return new ConformanceServerHost(app, baseUrl);
    }

    public async ValueTask DisposeAsync()
    {
        using var stopTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await _app.StopAsync(stopTimeout.Token);
        await _app.DisposeAsync();
    }
}

/// <summary>xUnit class fixture: one conformance server shared by the rows of a test class.</summary>
public sealed class ConformanceServerFixture : IAsyncLifetime
{
    private ConformanceServerHost? _host;

    public ConformanceServerHost Host => _host ?? throw new InvalidOperationException("The fixture has not started.");

    public async ValueTask InitializeAsync() => _host = await ConformanceServerHost.StartAsync(TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
