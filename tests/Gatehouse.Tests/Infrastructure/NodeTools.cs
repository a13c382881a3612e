using System.Diagnostics;

namespace Gatehouse.Tests.Infrastructure;

/// <summary>
/// The pinned Node tools (Node 22, the MCP Inspector, the MCP TypeScript SDK), installed by
/// scripts/lib/test-tools.sh when missing: a test is never skipped because a tool is absent.
/// </summary>
internal static class NodeTools
{
    private static readonly SemaphoreSlim s_installLock = new(1, 1);
    private static IReadOnlyDictionary<string, string>? s_paths;

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Gatehouse.slnx")))
                {
                    return dir.FullName;
                }
            }

            throw new InvalidOperationException("Cannot find the repository root (Gatehouse.slnx) above " + AppContext.BaseDirectory);
        }
    }

    public static async Task<(string Node22, string NodeModules)> GetAsync(CancellationToken cancellationToken)
    {
        await s_installLock.WaitAsync(cancellationToken);
        try
        {
            s_paths ??= await InstallAsync(cancellationToken);
            return (s_paths["GATEHOUSE_NODE22"], s_paths["GATEHOUSE_NODE_MODULES"]);
        }
        finally
        {
            s_installLock.Release();
        }
    }

    /// <summary>The MCP Inspector's command-line client, as a newcomer would run it against the demo.</summary>
    public static async Task<ProcessResult> RunInspectorCliAsync(IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var (node, modules) = await GetAsync(cancellationToken);
        var start = new ProcessStartInfo(node) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(modules, "@modelcontextprotocol", "inspector", "clients", "launcher", "build", "index.js"));
        start.ArgumentList.Add("--cli");
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return await ChildProcess.RunAsync(start, TimeSpan.FromSeconds(90), cancellationToken);
    }

    private static async Task<IReadOnlyDictionary<string, string>> InstallAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(RepositoryRoot, "scripts", "lib", "test-tools.sh"));
        var result = await ChildProcess.RunAsync(start, TimeSpan.FromMinutes(5), cancellationToken);
        Assert.True(result.ExitCode == 0, $"scripts/lib/test-tools.sh failed:\n{result.Stdout}\n{result.Stderr}");
        return result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split('=', 2))
            .Where(parts => parts.Length == 2 && parts[0].StartsWith("GATEHOUSE_", StringComparison.Ordinal))
            .ToDictionary(parts => parts[0], parts => parts[1].Trim());
    }
}

internal sealed record ProcessResult(int ExitCode, string Stdout, string Stderr);
