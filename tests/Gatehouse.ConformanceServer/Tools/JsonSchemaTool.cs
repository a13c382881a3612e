using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gatehouse.Conformance.Server.Tools;

/// <summary>
/// Scenario <c>json-schema-2020-12</c> (SEP-1613): a tool whose input schema uses <c>$schema</c>, <c>$defs</c>,
/// <c>$ref</c> and <c>additionalProperties</c>, which tools/list must return unchanged.
/// </summary>
internal static class JsonSchemaTool
{
    public const string Name = "json_schema_2020_12_tool";

    private const string InputSchema = """
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "type": "object",
          "$defs": {
            "address": {
              "type": "object",
              "properties": {
                "street": { "type": "string" },
                "city": { "type": "string" }
              }
            }
          },
          "properties": {
            "name": { "type": "string" },
            "address": { "$ref": "#/$defs/address" }
          },
          "additionalProperties": false
        }
        """;

    public static McpServerTool Create()
    {
        // The schema is written by hand, so the tool takes its arguments raw instead of binding them to parameters.
        var tool = McpServerTool.Create(
            (RequestContext<CallToolRequestParams> context) =>
                $"Received arguments: {JsonSerializer.Serialize(context.Params?.Arguments, ConformanceJsonContext.Default.IDictionaryStringJsonElement)}",
            new McpServerToolCreateOptions
            {
                Name = Name,
                Description = "Tool with JSON Schema 2020-12 features",
                ReadOnly = true,
            });
        using var schema = JsonDocument.Parse(InputSchema);
        tool.ProtocolTool.InputSchema = schema.RootElement.Clone();
        return tool;
    }
}
