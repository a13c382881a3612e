using System.CommandLine;
using Gatehouse.Cli;

namespace Gatehouse.Tests.Infrastructure;

/// <summary>
/// A `gatehouse` command run in this process through the very command the binary runs, its output captured. What it
/// writes to storage reaches a gateway the way another replica's writes do: through the database alone.
/// </summary>
internal static class InProcessCli
{
    public static async Task<ProcessResult> ServiceAccountAsync(params string[] args)
    {
        var root = new RootCommand { ServiceAccountCommand.Create() };
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await root.Parse(["service-account", .. args])
            .InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, TestContext.Current.CancellationToken);
        return new ProcessResult(exitCode, output.ToString(), error.ToString());
    }

    /// <summary>Creates a service account and returns its token (the whole of standard output).</summary>
    public static async Task<string> CreateTokenAsync(string configPath, params string[] args)
    {
        var result = await ServiceAccountAsync(["create", "--config", configPath, .. args]);
        Assert.True(result.ExitCode == 0, result.Stderr);
        return result.Stdout.TrimEnd('\n');
    }
}
