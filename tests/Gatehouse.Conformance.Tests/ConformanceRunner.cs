using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Gatehouse.Conformance.Tests;

/// <summary>One check the suite reported: its status is SUCCESS, FAILURE, WARNING or INFO.</summary>
public sealed record ConformanceCheck(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("description")] string? Description,
    [property: JsonPropertyName("errorMessage")] string? ErrorMessage);

/// <summary>The outcome of one conformance scenario run against one URL.</summary>
public sealed record ConformanceResult(
    string Scenario,
    string Url,
    int? ExitCode,
    bool TimedOut,
    IReadOnlyList<ConformanceCheck> Checks,
    string Output,
    TimeSpan Duration)
{
    public IEnumerable<ConformanceCheck> Failures => Checks.Where(check => check.Status == "FAILURE");

    public IEnumerable<ConformanceCheck> Warnings => Checks.Where(check => check.Status == "WARNING");

    /// <summary>
    /// The suite's own verdict (exit code 0: no FAILURE check), and the run finished, and it reported a check that
    /// succeeded, so a run that crashed before checking anything never counts as a pass.
    /// </summary>
    public bool Passed => ExitCode == 0 && !TimedOut && !Failures.Any() && Checks.Any(check => check.Status == "SUCCESS");

    /// <summary>A report for an assertion message: the verdict, each failed or warned check, then the raw output.</summary>
    public string Describe()
    {
        var report = new StringBuilder();
        report.Append(CultureInfo.InvariantCulture,
            $"Scenario '{Scenario}' against {Url}: {(Passed ? "PASSED" : "FAILED")} in {Duration.TotalSeconds:F1} s, ");
        report.Append(TimedOut ? "timed out and killed" : $"exit code {ExitCode}");
        report.Append(CultureInfo.InvariantCulture,
            $", {Checks.Count(check => check.Status == "SUCCESS")} passed, {Failures.Count()} failed, {Warnings.Count()} warnings.\n");
        foreach (var check in Failures.Concat(Warnings))
        {
            report.Append(CultureInfo.InvariantCulture, $"  {check.Status} [{check.Id}] {check.Description}: {check.ErrorMessage}\n");
        }

        return report.Append("--- conformance output ---\n").Append(Output).ToString();
    }
}

/// <summary>
/// Runs the MCP conformance suite (<c>@modelcontextprotocol/conformance</c>, pinned in scripts/node) under Node 22
/// against any MCP endpoint URL: the conformance server directly, or the same server behind Gatehouse.
/// </summary>
public static partial class ConformanceRunner
{
    /// <summary>How long one scenario may run before its node process is killed.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(90);

    private static readonly TimeSpan s_listTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The server scenarios the installed suite knows, in its order (<c>conformance list --server</c>).</summary>
    public static async Task<IReadOnlyList<string>> ListServerScenariosAsync(CancellationToken cancellationToken = default)
    {
        var tools = await TestTools.GetAsync(cancellationToken);
        var run = await ProcessRunner.RunAsync(SuiteCommand(tools, "list", "--server"), s_listTimeout, cancellationToken);
        if (run.ExitCode != 0)
        {
            throw new InvalidOperationException($"conformance list --server failed ({(run.TimedOut ? "timed out" : $"exit code {run.ExitCode}")}):\n{run.Output}");
        }

        // Lines look like "  - tools-list [2025-06-18,2025-11-25]".
        return [.. ScenarioLine().Matches(StripAnsi(run.StandardOutput)).Select(match => match.Groups["name"].Value)];
    }

    /// <summary>
    /// Runs one server scenario against <paramref name="url"/> (an MCP endpoint, e.g. <c>http://127.0.0.1:PORT/mcp</c>)
    /// and returns its checks and output. The node process is killed on timeout or cancellation.
    /// </summary>
    public static Task<ConformanceResult> RunScenarioAsync(string url, string scenario, CancellationToken cancellationToken = default) =>
        RunScenarioAsync(url, scenario, DefaultTimeout, cancellationToken);

    /// <inheritdoc cref="RunScenarioAsync(string, string, CancellationToken)"/>
    /// <param name="timeout">How long the scenario may run before its node process is killed.</param>
    public static async Task<ConformanceResult> RunScenarioAsync(
        string url, string scenario, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);
        ArgumentException.ThrowIfNullOrWhiteSpace(scenario);
        var tools = await TestTools.GetAsync(cancellationToken);

        var resultsDirectory = Directory.CreateTempSubdirectory("gatehouse-conformance-");
        try
        {
            var start = SuiteCommand(tools, "server", "--url", url, "--scenario", scenario, "--output-dir", resultsDirectory.FullName);
            var run = await ProcessRunner.RunAsync(start, timeout, cancellationToken);
            return new ConformanceResult(
                scenario, url, run.ExitCode, run.TimedOut, ReadChecks(resultsDirectory), StripAnsi(run.Output), run.Duration);
        }
        finally
        {
            resultsDirectory.Delete(recursive: true);
        }
    }

    /// <summary>Runs scenarios one after another (each opens its own MCP session) and returns every result.</summary>
    public static async Task<IReadOnlyList<ConformanceResult>> RunScenariosAsync(
        string url, IEnumerable<string> scenarios, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(scenarios);
        var results = new List<ConformanceResult>();
        foreach (var scenario in scenarios)
        {
            results.Add(await RunScenarioAsync(url, scenario, cancellationToken));
        }

        return results;
    }

    private static ProcessStartInfo SuiteCommand(TestToolPaths tools, params string[] arguments)
    {
        var start = new ProcessStartInfo(tools.Node22) { WorkingDirectory = Path.GetTempPath() };
        start.ArgumentList.Add(tools.ConformanceEntryPoint);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["NO_COLOR"] = "1";
        return start;
    }

    // With --output-dir the suite writes <dir>/server-<scenario>-<timestamp>/checks.json.
    private static List<ConformanceCheck> ReadChecks(DirectoryInfo resultsDirectory)
    {
        var file = resultsDirectory.EnumerateFiles("checks.json", SearchOption.AllDirectories).FirstOrDefault();
        if (file is null)
        {
            return [];
        }

        using var stream = file.OpenRead();
        return JsonSerializer.Deserialize(stream, ConformanceJsonContext.Default.ListConformanceCheck) ?? [];
    }

    private static string StripAnsi(string text) => AnsiEscape().Replace(text, "");

    [GeneratedRegex(@"\x1B\[[0-9;]*m")]
    private static partial Regex AnsiEscape();

    [GeneratedRegex(@"^\s+-\s+(?<name>[A-Za-z0-9_./-]+)", RegexOptions.Multiline)]
    private static partial Regex ScenarioLine();
}

[JsonSerializable(typeof(List<ConformanceCheck>))]
internal sealed partial class ConformanceJsonContext : JsonSerializerContext;
