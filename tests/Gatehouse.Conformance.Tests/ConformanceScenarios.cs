namespace Gatehouse.Conformance.Tests;

/// <summary>
/// The server scenarios of <c>@modelcontextprotocol/conformance</c> 0.1.16, as <c>conformance list --server</c>
/// prints them. Written out so each one is its own theory row; <c>ConformanceSuiteTests</c> fails when the installed
/// suite's list differs, so a suite upgrade cannot silently drop or add a scenario.
/// </summary>
public static class ConformanceScenarios
{
    public static IReadOnlyList<string> Server { get; } =
    [
        "server-initialize",
        "logging-set-level",
        "ping",
        "completion-complete",
        "tools-list",
        "tools-call-simple-text",
        "tools-call-image",
        "tools-call-audio",
        "tools-call-embedded-resource",
        "tools-call-mixed-content",
        "tools-call-with-logging",
        "tools-call-error",
        "tools-call-with-progress",
        "tools-call-sampling",
        "tools-call-elicitation",
        "json-schema-2020-12",
        "elicitation-sep1034-defaults",
        "server-sse-polling",
        "server-sse-multiple-streams",
        "elicitation-sep1330-enums",
        "resources-list",
        "resources-read-text",
        "resources-read-binary",
        "resources-templates-read",
        "resources-subscribe",
        "resources-unsubscribe",
        "prompts-list",
        "prompts-get-simple",
        "prompts-get-with-args",
        "prompts-get-embedded-resource",
        "prompts-get-with-image",
        "dns-rebinding-protection",
    ];

    /// <summary>
    /// Scenarios the conformance server cannot pass with the C# SDK 2.4, with the reason (docs/conformance.md).
    /// Empty: the direct run passes every scenario.
    /// </summary>
    public static IReadOnlyDictionary<string, string> KnownDirectFailures { get; } = new Dictionary<string, string>();

    /// <summary>Every scenario the direct run must pass: the bar a run through Gatehouse is held to as well.</summary>
    public static IReadOnlyList<string> ExpectedToPass { get; } = [.. Server.Where(scenario => !KnownDirectFailures.ContainsKey(scenario))];

    /// <summary>Theory data: one row per scenario the direct run must pass.</summary>
    public static TheoryData<string> ExpectedToPassData => [.. ExpectedToPass];
}
