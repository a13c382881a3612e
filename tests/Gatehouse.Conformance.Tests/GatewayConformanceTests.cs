using Gatehouse.Configuration;
using Gatehouse.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Conformance.Tests;

/// <summary>
/// The same server scenarios as <see cref="DirectConformanceTests"/>, run through a real Gatehouse in front of the
/// conformance server: the gateway must pass every scenario the direct run passes.
/// </summary>
public sealed class GatewayConformanceTests(GatewayConformanceFixture gateway, ITestOutputHelper output)
    : IClassFixture<GatewayConformanceFixture>
{
    [Theory]
    [MemberData(nameof(ConformanceScenarios.ExpectedToPassData), MemberType = typeof(ConformanceScenarios))]
    public async Task Scenario_ThroughGatehouse_Passes(string scenario)
    {
        var result = await ConformanceRunner.RunScenarioAsync(gateway.McpUrl, scenario, TestContext.Current.CancellationToken);

        output.WriteLine(result.Describe());
        Assert.True(result.Passed, result.Describe());
    }
}

/// <summary>The conformance server behind a Gatehouse route on 127.0.0.1, shared by the rows of the theory.</summary>
public sealed class GatewayConformanceFixture : IAsyncLifetime
{
    private ConformanceServerHost? _server;
    private WebApplication? _gateway;
    private string? _dataDirectory;

    public string McpUrl { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        _server = await ConformanceServerHost.StartAsync(TestContext.Current.CancellationToken);
        _dataDirectory = Directory.CreateTempSubdirectory("gatehouse-conformance-").FullName;
        var config = YamlConfigReader.Parse($"""
            address: 127.0.0.1:0
            data_dir: {_dataDirectory}
            routes:
              - name: conformance
                from: http://127.0.0.1
                prefix: /mcp
                to: {_server.BaseUrl}
                allow_public_unauthenticated_access: true
                mcp:
                  server: {"{}"}
            """);
        _gateway = GatewayHost.Build(new GatewayHostOptions
        {
            Config = config,
            ConfigureLogging = logging => logging.ClearProviders(),
        });
        await _gateway.StartAsync(TestContext.Current.CancellationToken);
        McpUrl = _gateway.Urls.Single().TrimEnd('/') + "/mcp";
    }

    public async ValueTask DisposeAsync()
    {
        if (_gateway is not null)
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _gateway.StopAsync(stop.Token);
            await _gateway.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        if (_dataDirectory is not null)
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }
}
