using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gatehouse.Servers.Northwind.Data;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using SQLitePCL;

namespace Gatehouse.Servers.Northwind.Query;

/// <summary>The outcome of one query: JSON text to show the model, or an error message that names the fix.</summary>
internal sealed record QueryResult(bool IsError, string Text);

/// <summary>
/// Runs model-written SQL against the Northwind file. The SQL is untrusted, so the guards overlap on purpose,
/// and any one of them is enough to stop a write:
/// <list type="number">
/// <item>the connection is opened read-only (SQLITE_OPEN_READONLY) and set to <c>PRAGMA query_only</c>;</item>
/// <item>the text must start with SELECT or WITH and hold exactly one statement;</item>
/// <item>the <see cref="SqlAuthorizer"/> lets the compiler emit only reads, selects and safe function calls;</item>
/// <item><c>sqlite3_stmt_readonly</c> must agree that the compiled statement writes nothing;</item>
/// <item>extension loading is off, ATTACH is limited to zero databases, and defensive mode is on.</item>
/// </list>
/// Cost is bounded too: a wall-clock limit enforced through the progress handler, a row cap, and size caps.
/// </summary>
internal sealed class ReadOnlyQueryRunner(
    NorthwindDatabase database, QueryLimits limits, TimeProvider timeProvider, ILogger<ReadOnlyQueryRunner> logger)
{
    private const int SqliteOk = 0;
    private const int SqliteInterrupt = 9;
    private const int SqliteRow = 100;
    private const int SqliteDone = 101;

    // How many virtual-machine instructions run between two looks at the clock: often enough to stop within
    // a millisecond or so, rarely enough to cost nothing measurable.
    private const int ProgressInterval = 1_000;

    private static readonly JsonWriterOptions _writerOptions = new()
    {
        // Company and product names are full of accents; the model reads them better unescaped, and this text is
        // never embedded in HTML.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public QueryResult Execute(string? sql, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(sql))
        {
            return Refuse("The query is empty. Pass one SELECT statement, for example: SELECT company_name, country FROM customers LIMIT 10");
        }

        if (sql.Length > limits.MaxSqlLength)
        {
            return Refuse($"The query is {sql.Length} characters long; the limit is {limits.MaxSqlLength}. Send a shorter query.");
        }

        var keyword = SqlText.FirstKeyword(sql);
        if (keyword is not ("SELECT" or "WITH"))
        {
            var found = keyword.Length == 0 ? "something else" : keyword;
            return Refuse($"Only read-only queries are allowed: the statement must start with SELECT or WITH, not {found}. " +
                "This database cannot be changed through this tool.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        using var connection = database.OpenReadOnly();
        var db = connection.Handle!;
        Harden(connection, db);

        var authorizer = new SqlAuthorizer();
        raw.sqlite3_set_authorizer(db, authorizer.Authorize, null);
        var guard = new QueryGuard(timeProvider, limits.Timeout, cancellationToken);
        raw.sqlite3_progress_handler(db, ProgressInterval, static state => ((QueryGuard)state).ShouldStop() ? 1 : 0, guard);

        var started = timeProvider.GetTimestamp();
        var rc = raw.sqlite3_prepare_v2(db, sql, out var statement, out var tail);
        using (statement)
        {
            if (rc != SqliteOk)
            {
                return authorizer.Denied is { } denied
                    ? Refuse($"Refused: the query uses {denied}, and only reading is allowed here. " +
                        "Send a single SELECT (or WITH ... SELECT) statement.")
                    : Fail(db, rc, guard);
            }

            if (statement.IsInvalid)
            {
                return Refuse("The query holds only comments. Pass one SELECT statement.");
            }

            if (!SqlText.IsTrivia(tail))
            {
                return Refuse("Only one SQL statement per call is allowed. Remove everything after the first ';' " +
                    "and send the next statement in a separate call.");
            }

            if (raw.sqlite3_stmt_readonly(statement) == 0)
            {
                return Refuse("Refused: the statement would change the database, and only reading is allowed here.");
            }

            return Run(db, statement, guard, started);
        }
    }

    private void Harden(SqliteConnection connection, sqlite3 db)
    {
        connection.EnableExtensions(false);
        using (var command = connection.CreateCommand())
        {
            // Set before the authorizer goes on, which would refuse this PRAGMA like any other.
            command.CommandText = "PRAGMA query_only = ON";
            command.ExecuteNonQuery();
        }

        raw.sqlite3_db_config(db, raw.SQLITE_DBCONFIG_DEFENSIVE, 1, out _);
        raw.sqlite3_db_config(db, raw.SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, out _);
        raw.sqlite3_db_config(db, raw.SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, out _);
        raw.sqlite3_limit(db, raw.SQLITE_LIMIT_ATTACHED, 0);
        raw.sqlite3_limit(db, raw.SQLITE_LIMIT_LENGTH, limits.MaxValueBytes);
        // Bytes of UTF-8, while MaxSqlLength counts UTF-16 characters: at most three bytes per character.
        raw.sqlite3_limit(db, raw.SQLITE_LIMIT_SQL_LENGTH, limits.MaxSqlLength * 3);
    }

    private QueryResult Run(sqlite3 db, sqlite3_stmt statement, QueryGuard guard, long started)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using var json = new Utf8JsonWriter(buffer, _writerOptions);
        json.WriteStartObject();

        var columnCount = raw.sqlite3_column_count(statement);
        json.WriteStartArray("columns");
        for (var i = 0; i < columnCount; i++)
        {
            json.WriteStringValue(raw.sqlite3_column_name(statement, i).utf8_to_string());
        }

        json.WriteEndArray();
        json.WriteStartArray("rows");

        var rows = 0;
        string? truncation = null;
        var cellsCut = false;
        while (true)
        {
            var rc = raw.sqlite3_step(statement);
            if (rc == SqliteDone)
            {
                break;
            }

            if (rc != SqliteRow)
            {
                return Fail(db, rc, guard);
            }

            if (rows == limits.MaxRows)
            {
                truncation = $"Only the first {limits.MaxRows} rows are shown; the query returned more. " +
                    "Aggregate, filter or add LIMIT/OFFSET to see the rest.";
                break;
            }

            if (json.BytesCommitted + json.BytesPending > limits.MaxResultBytes)
            {
                truncation = $"Only the first {rows} rows are shown: the result passed the {limits.MaxResultBytes / 1024} KB " +
                    "size limit. Select fewer columns or rows.";
                break;
            }

            json.WriteStartArray();
            for (var i = 0; i < columnCount; i++)
            {
                cellsCut |= WriteValue(json, statement, i);
            }

            json.WriteEndArray();
            rows++;
        }

        json.WriteEndArray();
        json.WriteNumber("rowCount", rows);
        json.WriteBoolean("truncated", truncation is not null);
        if (truncation is not null || cellsCut)
        {
            var note = truncation ?? string.Empty;
            if (cellsCut)
            {
                note = $"{note} Text values longer than {limits.MaxCellLength} characters are cut and end with '…'.".TrimStart();
            }

            json.WriteString("note", note);
        }

        json.WriteEndObject();
        json.Flush();

        Log.QueryCompleted(logger, rows, (long)timeProvider.GetElapsedTime(started).TotalMilliseconds, truncation is not null);
        return new QueryResult(false, Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    /// <summary>Writes one cell; returns true when a long text was cut.</summary>
    private bool WriteValue(Utf8JsonWriter json, sqlite3_stmt statement, int column)
    {
        switch (raw.sqlite3_column_type(statement, column))
        {
            case raw.SQLITE_INTEGER:
                json.WriteNumberValue(raw.sqlite3_column_int64(statement, column));
                return false;
            case raw.SQLITE_FLOAT:
                var number = raw.sqlite3_column_double(statement, column);
                // JSON has no infinities (SELECT 1e999 makes one); SQLite itself turns NaN into NULL.
                if (double.IsFinite(number))
                {
                    json.WriteNumberValue(number);
                }
                else
                {
                    json.WriteStringValue(number > 0 ? "Infinity" : "-Infinity");
                }

                return false;
            case raw.SQLITE_TEXT:
                var text = raw.sqlite3_column_text(statement, column).utf8_to_string();
                if (text.Length <= limits.MaxCellLength)
                {
                    json.WriteStringValue(text);
                    return false;
                }

                var cut = limits.MaxCellLength;
                if (char.IsHighSurrogate(text[cut - 1]))
                {
                    cut--;
                }

                json.WriteStringValue(string.Concat(text.AsSpan(0, cut), "…"));
                return true;
            case raw.SQLITE_BLOB:
                json.WriteStringValue($"<blob, {raw.sqlite3_column_bytes(statement, column)} bytes>");
                return false;
            default:
                json.WriteNullValue();
                return false;
        }
    }

    private QueryResult Fail(sqlite3 db, int rc, QueryGuard guard)
    {
        if (rc == SqliteInterrupt)
        {
            guard.ThrowIfCancelled();
            if (guard.TimedOut)
            {
                Log.QueryTimedOut(logger, (long)limits.Timeout.TotalMilliseconds);
                return new QueryResult(true, $"The query ran longer than the {limits.Timeout.TotalSeconds:0.#} s limit and was stopped. " +
                    "Narrow it with WHERE filters, fewer joins or a LIMIT.");
            }
        }

        var message = raw.sqlite3_errmsg(db).utf8_to_string();
        Log.QueryFailed(logger, message);
        return new QueryResult(true, $"SQLite could not run the query: {message}");
    }

    private QueryResult Refuse(string reason)
    {
        Log.QueryRefused(logger, reason);
        return new QueryResult(true, reason);
    }

    /// <summary>State for the progress handler, which SQLite calls from inside sqlite3_step.</summary>
    private sealed class QueryGuard
    {
        private readonly TimeProvider _timeProvider;
        private readonly TimeSpan _timeout;
        private readonly CancellationToken _cancellationToken;
        private readonly long _started;

        public QueryGuard(TimeProvider timeProvider, TimeSpan timeout, CancellationToken cancellationToken)
        {
            _timeProvider = timeProvider;
            _timeout = timeout;
            _cancellationToken = cancellationToken;
            _started = timeProvider.GetTimestamp();
        }

        public bool TimedOut { get; private set; }

        public bool ShouldStop()
        {
            if (_cancellationToken.IsCancellationRequested)
            {
                return true;
            }

            if (_timeProvider.GetElapsedTime(_started) > _timeout)
            {
                TimedOut = true;
                return true;
            }

            return false;
        }

        public void ThrowIfCancelled() => _cancellationToken.ThrowIfCancellationRequested();
    }
}
