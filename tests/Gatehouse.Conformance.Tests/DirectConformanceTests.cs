namespace Gatehouse.Conformance.Tests;

/// <summary>
/// Runs every server scenario of the MCP conformance suite against the conformance server, directly (no gateway).
/// </summary>
public sealed class DirectConformanceTests(ConformanceServerFixture server, ITestOutputHelper output)
    : IClassFixture<ConformanceServerFixture>
{
    [Theory]
    [MemberData(nameof(ConformanceScenarios.ExpectedToPassData), MemberType = typeof(ConformanceScenarios))]
    public async Task Scenario_DirectToConformanceServer_Passes(string scenario)
    {
        var result = await ConformanceRunner.RunScenarioAsync(server.Host.McpUrl, scenario, TestContext.Current.CancellationToken);

        output.WriteLine(result.Describe());
        Assert.True(result.Passed, result.Describe());
    }
}
