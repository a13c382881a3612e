using System.Collections.Frozen;

namespace Gatehouse.Servers.Northwind.Query;

/// <summary>
/// The SQLite authorizer for query connections (https://sqlite.org/c3ref/set_authorizer.html). SQLite calls it
/// while it compiles a statement, once per table, column, function and statement kind the statement touches,
/// so it sees through CTEs, sub-queries and whatever the text-level checks missed. Only reading is allowed:
/// anything that writes, attaches a file, changes a pragma or opens a transaction fails to compile.
/// </summary>
internal sealed class SqlAuthorizer
{
    // Action codes from https://sqlite.org/c3ref/c_alter_table.html.
    private const int Pragma = 19;
    private const int Read = 20;
    private const int Select = 21;
    private const int Function = 31;
    private const int Recursive = 33;

    private const int SqliteOk = 0;
    private const int SqliteDeny = 1;

    // Functions that reach outside the database. load_extension is already off on the connection and the
    // file functions are not compiled into e_sqlite3; refusing them by name keeps that true if either changes.
    private static readonly FrozenSet<string> _deniedFunctions = FrozenSet.Create(StringComparer.OrdinalIgnoreCase,
        "load_extension", "fts3_tokenizer", "readfile", "writefile", "edit", "sqlar_compress", "sqlar_uncompress");

    private static readonly FrozenDictionary<int, string> _actionNames = new Dictionary<int, string>
    {
        [1] = "CREATE INDEX", [2] = "CREATE TABLE", [3] = "CREATE TEMP INDEX", [4] = "CREATE TEMP TABLE",
        [5] = "CREATE TEMP TRIGGER", [6] = "CREATE TEMP VIEW", [7] = "CREATE TRIGGER", [8] = "CREATE VIEW",
        [9] = "DELETE", [10] = "DROP INDEX", [11] = "DROP TABLE", [12] = "DROP TEMP INDEX", [13] = "DROP TEMP TABLE",
        [14] = "DROP TEMP TRIGGER", [15] = "DROP TEMP VIEW", [16] = "DROP TRIGGER", [17] = "DROP VIEW",
        [18] = "INSERT", [19] = "PRAGMA", [22] = "transaction control", [23] = "UPDATE", [24] = "ATTACH",
        [25] = "DETACH", [26] = "ALTER TABLE", [27] = "REINDEX", [28] = "ANALYZE", [29] = "CREATE VIRTUAL TABLE",
        [30] = "DROP VIRTUAL TABLE", [32] = "SAVEPOINT",
    }.ToFrozenDictionary();

    /// <summary>What the first refusal was, for the error message; null while nothing was refused.</summary>
    public string? Denied { get; private set; }

    public int Authorize(object userData, int actionCode, string? param0, string? param1, string? database, string? trigger)
    {
        switch (actionCode)
        {
            case Select or Read or Recursive:
                return SqliteOk;
            case Function when param1 is not null && !_deniedFunctions.Contains(param1):
                return SqliteOk;
            case Function:
                return Deny($"the function {param1}()");
            case Pragma:
                return Deny(param1 is null ? $"PRAGMA {param0}" : $"PRAGMA {param0} = {param1}");
            default:
                var name = _actionNames.GetValueOrDefault(actionCode, $"action {actionCode}");
                return Deny(param0 is null ? name : $"{name} ({param0})");
        }
    }

    private int Deny(string what)
    {
        Denied ??= what;
        return SqliteDeny;
    }
}
