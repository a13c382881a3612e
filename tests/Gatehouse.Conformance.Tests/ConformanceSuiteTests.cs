namespace Gatehouse.Conformance.Tests;

/// <summary>Checks on the harness itself: the pinned suite, the scenario list, and that a failure is reported.</summary>
public sealed class ConformanceSuiteTests
{
    [Fact]
    public async Task ListServerScenarios_InstalledSuite_MatchesScenarioList()
    {
        var listed = await ConformanceRunner.ListServerScenariosAsync(TestContext.Current.CancellationToken);

        Assert.Equal(ConformanceScenarios.Server, listed);
    }

    [Fact]
    public void KnownDirectFailures_EveryEntry_IsAServerScenario()
    {
        Assert.All(ConformanceScenarios.KnownDirectFailures.Keys, scenario => Assert.Contains(scenario, ConformanceScenarios.Server));
    }

    [Fact]
    public async Task RunScenario_NothingListening_ReportsFailureWithOutput()
    {
        // A loopback port nothing listens on: bind one, note it, release it.
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        var result = await ConformanceRunner.RunScenarioAsync($"http://127.0.0.1:{port}/mcp", "ping", TestContext.Current.CancellationToken);

        Assert.False(result.Passed, result.Describe());
        Assert.NotEmpty(result.Failures);
        Assert.Contains("ping", result.Describe(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunScenario_Timeout_KillsNodeAndReportsTimedOut()
    {
        await using var server = await ConformanceServerHost.StartAsync(TestContext.Current.CancellationToken);

        var result = await ConformanceRunner.RunScenarioAsync(
            server.McpUrl, "tools-call-with-logging", TimeSpan.FromMilliseconds(1), TestContext.Current.CancellationToken);

        Assert.True(result.TimedOut, result.Describe());
        Assert.False(result.Passed);
        Assert.Null(result.ExitCode);
    }
}
