using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Gatehouse.Servers.Northwind.Schema;

internal sealed record ColumnSchema(string Name, string Type, bool NotNull, bool PrimaryKey, string? DefaultValue);

internal sealed record ForeignKeySchema(string Column, string ReferencesTable, string ReferencesColumn);

internal sealed record TableSchema(
    string Name,
    string? Description,
    IReadOnlyList<ColumnSchema> Columns,
    IReadOnlyList<string> PrimaryKey,
    IReadOnlyList<ForeignKeySchema> ForeignKeys);

internal sealed record TableSummary(string Name, long Rows);

internal sealed record TableList(IReadOnlyList<TableSummary> Tables);

/// <summary>describe_table's answer: the schema plus the live row count.</summary>
internal sealed record TableDetails(
    string Name,
    string? Description,
    long Rows,
    IReadOnlyList<ColumnSchema> Columns,
    IReadOnlyList<string> PrimaryKey,
    IReadOnlyList<ForeignKeySchema> ForeignKeys);

/// <summary>The northwind://schema resource: every table, plus the conventions a query writer needs.</summary>
internal sealed record DatabaseSchema(string Database, IReadOnlyList<string> Notes, IReadOnlyList<TableSchema> Tables);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TableList))]
[JsonSerializable(typeof(TableDetails))]
[JsonSerializable(typeof(TableSchema))]
[JsonSerializable(typeof(DatabaseSchema))]
internal sealed partial class SchemaJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The context to serialize with: names such as "Königlich Essen" stay readable for the model, which is safe
    /// because this JSON goes into MCP text content, never into HTML.
    /// </summary>
    public static SchemaJsonContext Relaxed { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
