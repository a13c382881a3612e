using System.Collections.Frozen;
using Gatehouse.Servers.Northwind.Data;
using Microsoft.Data.Sqlite;

namespace Gatehouse.Servers.Northwind.Schema;

/// <summary>
/// The tables and their columns and keys, read once from the file (the schema never changes while the server
/// runs, as nothing can write to it), plus live row counts.
/// </summary>
internal sealed class SchemaCatalog
{
    private static readonly FrozenDictionary<string, string> _descriptions = new Dictionary<string, string>
    {
        ["categories"] = "Product categories (Beverages, Condiments, Seafood, ...).",
        ["customers"] = "Companies that buy from Northwind; customer_id is a five-letter code.",
        ["employees"] = "Sales staff; reports_to points at the employee's manager.",
        ["order_details"] = "Order lines: one row per product in an order. Line revenue = unit_price * quantity * (1 - discount).",
        ["orders"] = "Order headers: customer, employee, dates (ISO-8601 text), shipper (ship_via) and freight.",
        ["products"] = "The catalogue, with today's list price; discontinued is 0 or 1.",
        ["shippers"] = "Carriers that deliver orders; orders.ship_via references shipper_id.",
        ["suppliers"] = "Companies that supply the products.",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private readonly NorthwindDatabase _database;
    private readonly Lazy<Loaded> _loaded;

    public SchemaCatalog(NorthwindDatabase database)
    {
        _database = database;
        _loaded = new Lazy<Loaded>(Load);
    }

    /// <summary>All tables, ordered by name.</summary>
    public IReadOnlyList<TableSchema> Tables => _loaded.Value.Ordered;

    /// <summary>Looks a table up by name, ignoring case as SQLite itself does.</summary>
    public bool TryGet(string? name, out TableSchema table)
    {
        table = null!;
        return name is not null && _loaded.Value.ByName.TryGetValue(name.Trim(), out table!);
    }

    public DatabaseSchema Describe() => new(
        "Northwind sales database (SQLite)",
        [
            "Dates are ISO-8601 text (YYYY-MM-DD): use strftime('%Y', order_date) for the year.",
            "Revenue of an order line is unit_price * quantity * (1 - discount), from order_details.",
            "orders.shipped_date is NULL for orders not shipped yet.",
        ],
        Tables);

    public IReadOnlyList<TableSummary> ListWithRowCounts()
    {
        using var connection = _database.OpenReadOnly();
        return [.. Tables.Select(t => new TableSummary(t.Name, CountRows(connection, t.Name)))];
    }

    public long CountRows(TableSchema table)
    {
        using var connection = _database.OpenReadOnly();
        return CountRows(connection, table.Name);
    }

    private static long CountRows(SqliteConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        // The name comes from sqlite_schema, not from the caller, and is quoted besides.
#pragma warning disable CA2100
        command.CommandText = $"SELECT count(*) FROM \"{table.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
#pragma warning restore CA2100
        return (long)command.ExecuteScalar()!;
    }

    private sealed record Loaded(IReadOnlyList<TableSchema> Ordered, FrozenDictionary<string, TableSchema> ByName);

    private Loaded Load()
    {
        using var connection = _database.OpenReadOnly();
        var names = new List<string>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                names.Add(reader.GetString(0));
            }
        }

        var tables = names.Select(name => LoadTable(connection, name)).ToList();
        return new Loaded(tables, tables.ToFrozenDictionary(t => t.Name, StringComparer.OrdinalIgnoreCase));
    }

    private static TableSchema LoadTable(SqliteConnection connection, string name)
    {
        var columns = new List<ColumnSchema>();
        var primaryKey = new SortedList<long, string>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info($table) ORDER BY cid";
            command.Parameters.AddWithValue("$table", name);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var column = reader.GetString(0);
                var pkIndex = reader.GetInt64(4);
                columns.Add(new ColumnSchema(column, reader.GetString(1), reader.GetInt64(2) != 0, pkIndex > 0,
                    reader.IsDBNull(3) ? null : reader.GetString(3)));
                if (pkIndex > 0)
                {
                    primaryKey.Add(pkIndex, column);
                }
            }
        }

        var foreignKeys = new List<ForeignKeySchema>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list($table) ORDER BY id, seq";
            command.Parameters.AddWithValue("$table", name);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                foreignKeys.Add(new ForeignKeySchema(reader.GetString(0), reader.GetString(1), reader.GetString(2)));
            }
        }

        return new TableSchema(name, _descriptions.GetValueOrDefault(name), columns, [.. primaryKey.Values], foreignKeys);
    }
}
