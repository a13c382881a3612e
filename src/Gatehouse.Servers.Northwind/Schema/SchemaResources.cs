using System.ComponentModel;
using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gatehouse.Servers.Northwind.Schema;

/// <summary>The schema as MCP resources, so a client can put it in the model's context without a tool call.</summary>
[McpServerResourceType]
internal sealed class SchemaResources(SchemaCatalog catalog)
{
    public const string SchemaUri = "northwind://schema";
    private const string JsonMime = "application/json";

    [McpServerResource(UriTemplate = SchemaUri, Name = "schema", Title = "Northwind schema", MimeType = JsonMime)]
    [Description("Every table of the Northwind sales database with its columns, primary key and foreign keys.")]
    public TextResourceContents Schema() => new()
    {
        Uri = SchemaUri,
        MimeType = JsonMime,
        Text = JsonSerializer.Serialize(catalog.Describe(), SchemaJsonContext.Relaxed.DatabaseSchema),
    };

    [McpServerResource(UriTemplate = SchemaUri + "/{table}", Name = "table_schema", Title = "Northwind table schema", MimeType = JsonMime)]
    [Description("One table of the Northwind sales database: columns, primary key and foreign keys.")]
    public TextResourceContents TableSchema(string table)
    {
        if (!catalog.TryGet(table, out var schema))
        {
            // -32002 is the spec's code for an unknown resource
            // (https://modelcontextprotocol.io/specification/2025-11-25/server/resources#error-handling).
            throw new McpProtocolException(
                $"Unknown table '{table}'. The tables are: {string.Join(", ", catalog.Tables.Select(t => t.Name))}.",
                McpErrorCode.ResourceNotFound);
        }

        return new TextResourceContents
        {
            Uri = $"{SchemaUri}/{schema.Name}",
            MimeType = JsonMime,
            Text = JsonSerializer.Serialize(schema, SchemaJsonContext.Relaxed.TableSchema),
        };
    }
}
