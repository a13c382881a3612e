using System.Diagnostics;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary>The built `gatehouse` command, run as a separate process exactly as an operator runs it.</summary>
public sealed class CliTests
{
    [Fact]
    public async Task CheckConfig_BadFile_PrintsEveryErrorWithLineAndExitsNonZero()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("gatehouse-cli-").FullName, "bad.yaml");
        await File.WriteAllTextAsync(file, """
            address: 127.0.0.1:8080
            routes:
              - from: https://a.example.com
                to: http://127.0.0.1:1
                allow_public_unauthenticated_access: true
                preserve_host: true
                idle_timeout: forever
            """, TestContext.Current.CancellationToken);

        var (exitCode, stdout, stderr) = await RunAsync("check-config", "--config", file);

        Assert.Equal(1, exitCode);
        Assert.Equal("", stdout.Trim());
        Assert.Contains("bad.yaml has 2 error(s)", stderr, StringComparison.Ordinal);
        Assert.Contains("6:5: routes[0].preserve_host: unknown key; did you mean `preserve_host_header`?", stderr, StringComparison.Ordinal);
        Assert.Contains("7:19: routes[0].idle_timeout: expected a duration", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckConfig_GoodFile_ExitsZero()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("gatehouse-cli-").FullName, "good.yaml");
        await File.WriteAllTextAsync(file, """
            routes:
              - from: http://127.0.0.1
                to: http://127.0.0.1:1
                allow_public_unauthenticated_access: true
            """, TestContext.Current.CancellationToken);

        var (exitCode, stdout, _) = await RunAsync("check-config", "--config", file);

        Assert.Equal(0, exitCode);
        Assert.Contains("good.yaml is valid: 1 route(s)", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckConfig_MissingFile_ExitsNonZeroNamingIt()
    {
        var (exitCode, _, stderr) = await RunAsync("check-config", "--config", "/nonexistent/gatehouse.yaml");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("/nonexistent/gatehouse.yaml", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_Flag_PrintsVersion()
    {
        var (exitCode, stdout, _) = await RunAsync("--version");

        Assert.Equal(0, exitCode);
        Assert.StartsWith("0.1.0", stdout.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_Flag_ListsVerbs()
    {
        var (exitCode, stdout, _) = await RunAsync("--help");

        Assert.Equal(0, exitCode);
        foreach (var verb in new[] { "serve", "check-config", "demo" })
        {
            Assert.Contains(verb, stdout, StringComparison.Ordinal);
        }
    }

    internal static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("exec");
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "gatehouse.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var result = await ChildProcess.RunAsync(start, TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        return (result.ExitCode, result.Stdout, result.Stderr);
    }
}
