using System.ComponentModel;
using ModelContextProtocol.Server;

namespace Gatehouse.Bench.EchoServer;

/// <summary>The one tool the benchmark calls: it does no work, so a round trip measures transport and proxy only.</summary>
[McpServerToolType]
internal static class EchoTool
{
    [McpServerTool(Name = "echo", ReadOnly = true, Idempotent = true)]
    [Description("Returns the text it is given.")]
    public static string Echo([Description("The text to return")] string text) => text;
}
