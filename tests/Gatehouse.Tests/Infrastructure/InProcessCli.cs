using System.CommandLine;
using Gatehouse.Cli;

namespace Gatehouse.Tests.Infrastructure;

/// <summary>
/// A `gatehouse` command run in this process through the very command the binary runs, its output captured. What it
/// writes to storage reaches a gateway the way another replica's writes do: through the database alone.
/// </summary>
internal static class InProcessCli
{
    public static Task<ProcessResult> ServiceAccountAsync(params string[] args) => RunAsync(ServiceAccountCommand.Create(), args);

    public static Task<ProcessResult> AuditAsync(params string[] args) => RunAsync(AuditCommand.Create(), args);

    public static Task<ProcessResult> ProbeAsync(params string[] args) => RunAsync(ProbeCommand.Create(), args);

    private static async Task<ProcessResult> RunAsync(Command command, string[] args)
    {
        var root = new RootCommand { command };
        using var output = new StringWriter();
        using var error = new StringWriter();
        var parse = root.Parse([command.Name, .. args]);
        if (parse.Action is System.CommandLine.Invocation.ParseErrorAction parseError)
        {
            // As Program.cs does: a mistake is reported on standard error alone, without the help text.
            parseError.ShowHelp = false;
        }

        var exitCode = await parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, TestContext.Current.CancellationToken);
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
