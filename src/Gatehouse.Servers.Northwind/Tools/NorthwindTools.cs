using System.ComponentModel;
using System.Text.Json;
using Gatehouse.Servers.Northwind.Query;
using Gatehouse.Servers.Northwind.Schema;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gatehouse.Servers.Northwind.Tools;

/// <summary>
/// The three tools. Each returns a <see cref="CallToolResult"/> itself so that a refused or failed query comes
/// back as a tool error (isError with a message the model can act on), as the MCP spec asks for errors the
/// model should see (https://modelcontextprotocol.io/specification/2025-11-25/server/tools#error-handling).
/// </summary>
[McpServerToolType]
internal sealed class NorthwindTools(SchemaCatalog catalog, ReadOnlyQueryRunner runner)
{
    [McpServerTool(Name = "list_tables", Title = "List tables", ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false)]
    [Description("Lists the tables of the Northwind sales database with their row counts.")]
    public CallToolResult ListTables() =>
        Text(JsonSerializer.Serialize(new TableList(catalog.ListWithRowCounts()), SchemaJsonContext.Relaxed.TableList));

    [McpServerTool(Name = "describe_table", Title = "Describe a table", ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false)]
    [Description("Describes one table of the Northwind database: its columns with types, the primary key, foreign keys and the row count.")]
    public CallToolResult DescribeTable([Description("The table name, for example orders or order_details.")] string table)
    {
        if (!catalog.TryGet(table, out var schema))
        {
            return Error($"Unknown table '{table}'. The tables are: {string.Join(", ", catalog.Tables.Select(t => t.Name))}.");
        }

        var details = new TableDetails(schema.Name, schema.Description, catalog.CountRows(schema), schema.Columns,
            schema.PrimaryKey, schema.ForeignKeys);
        return Text(JsonSerializer.Serialize(details, SchemaJsonContext.Relaxed.TableDetails));
    }

    [McpServerTool(Name = "query", Title = "Run a read-only SQL query", ReadOnly = true, Destructive = false, Idempotent = true, OpenWorld = false)]
    [Description("""
        Runs one read-only SQLite query (SELECT, or WITH ... SELECT) against the Northwind sales database and
        returns JSON with "columns" and "rows". At most 500 rows are returned ("truncated" says when there were
        more) and a query may run for 5 seconds. Writes, ATTACH, PRAGMA and multiple statements are refused.
        Dates are ISO-8601 text (YYYY-MM-DD); line revenue is unit_price * quantity * (1 - discount) in order_details.
        """)]
    public CallToolResult Query(
        [Description("A single SQLite SELECT statement, e.g. SELECT strftime('%Y', order_date) AS year, count(*) FROM orders GROUP BY year")] string sql,
        CancellationToken cancellationToken)
    {
        var result = runner.Execute(sql, cancellationToken);
        return result.IsError ? Error(result.Text) : Text(result.Text);
    }

    private static CallToolResult Text(string text) => new() { Content = [new TextContentBlock { Text = text }] };

    private static CallToolResult Error(string message) =>
        new() { IsError = true, Content = [new TextContentBlock { Text = message }] };
}
