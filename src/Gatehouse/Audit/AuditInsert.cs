using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Globalization;
using Gatehouse.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using SQLitePCL;

namespace Gatehouse.Audit;

/// <summary>
/// Inserts a batch of audit rows in one transaction with one parameterised <c>INSERT</c>: on SQLite prepared once and
/// run per row (each run is a call into the library, not a round trip), on PostgreSQL sent as one <see cref="DbBatch"/>
/// (one round trip).
/// </summary>
/// <remarks>
/// Why not <c>SaveChanges</c>: EF Core writes a batch as one command of one <c>INSERT ... RETURNING</c> per row, each
/// with its own parameter names, so SQLite compiles every row's statement anew, and change tracking and reading back
/// generated ids come on top. Measured with bench/run.sh (docs/performance.md, "Policy and audit cost"), that was
/// about 58 µs of CPU per audited request more than this insert, on the core the proxy runs on. The rows are
/// append-only and nothing reads their ids back. Everything else still comes from EF Core's model: the table, the
/// columns (every mapped property but the generated key, so a new property and its migration are picked up), the
/// value converters, the provider's type of each parameter, and the provider's quoting and parameter names.
/// </remarks>
internal static class AuditInsert
{
    /// <summary>The statement and its columns per model (one per provider in a process); built once.</summary>
    private static readonly ConcurrentDictionary<IModel, Statement> s_statements = new();

    /// <summary>Stores every entry, in order, or none (the transaction is rolled back when anything fails).</summary>
    public static async Task InsertAsync(GatehouseDbContext db, IReadOnlyList<AuditEntry> batch, CancellationToken cancellationToken)
    {
        var statement = s_statements.GetOrAdd(db.Model, static (model, db) => Statement.Build(model, db.GetService<ISqlGenerationHelper>()), db);
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var connection = db.Database.GetDbConnection();
            if (connection is SqliteConnection sqlite)
            {
                InsertIntoSqlite(sqlite, statement, batch);
            }
            else
            {
                await InsertAsBatchAsync(connection, transaction.GetDbTransaction(), statement, batch, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>
    /// SQLite: the statement is prepared once per batch and run per row, binding by position through the library
    /// Microsoft.Data.Sqlite is built on (SQLitePCLRaw). Through <see cref="SqliteCommand"/> every run of the prepared
    /// statement looked up each of its 16 parameters by name and converted every string to a new UTF-8 array, a large
    /// part of each row's CPU on the proxy's core (docs/performance.md, "Third follow-up"); <c>sqlite3_bind_text16</c>
    /// hands SQLite the string's UTF-16 as it is. The connection and its <c>BEGIN IMMEDIATE</c> transaction (begun by
    /// EF Core, so Microsoft.Data.Sqlite's busy timeout applies to taking the write lock) stay Microsoft.Data.Sqlite's;
    /// any failure throws a <see cref="SqliteException"/>, the transaction rolls back and the writer retries the batch.
    /// </summary>
    private static void InsertIntoSqlite(SqliteConnection connection, Statement statement, IReadOnlyList<AuditEntry> batch)
    {
        var db = connection.Handle!;
        SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v2(db, statement.Sql, out var prepared), db);
        using (prepared)
        {
            var values = new object?[statement.Columns.Length];
            foreach (var entry in batch)
            {
                statement.GetValues(values, entry);
                for (var i = 0; i < values.Length; i++)
                {
                    // Parameters are numbered from 1 in the order they appear in the statement: the columns' order.
                    SqliteException.ThrowExceptionForRC(values[i] switch
                    {
                        null => raw.sqlite3_bind_null(prepared, i + 1),
                        string text => raw.sqlite3_bind_text16(prepared, i + 1, text),
                        long number => raw.sqlite3_bind_int64(prepared, i + 1, number),
                        int number => raw.sqlite3_bind_int64(prepared, i + 1, number),
                        double number => raw.sqlite3_bind_double(prepared, i + 1, number),
                        var other => throw new InvalidOperationException($"AuditInsert cannot bind a {other.GetType()} for SQLite."),
                    }, db);
                }

                var done = raw.sqlite3_step(prepared);
                if (done != raw.SQLITE_DONE)
                {
                    SqliteException.ThrowExceptionForRC(done, db);
                }

                SqliteException.ThrowExceptionForRC(raw.sqlite3_reset(prepared), db);
            }
        }
    }

    /// <summary>PostgreSQL (a provider that batches): every row's command goes to the server in one round trip.</summary>
    private static async Task InsertAsBatchAsync(
        DbConnection connection, DbTransaction transaction, Statement statement, IReadOnlyList<AuditEntry> batch, CancellationToken cancellationToken)
    {
        await using var commands = connection.CreateBatch();
        var values = new object?[statement.Columns.Length];
        commands.Transaction = transaction;
        foreach (var entry in batch)
        {
            var command = commands.CreateBatchCommand();
            command.CommandText = statement.Sql;
            var parameters = statement.AddParameters(command.CreateParameter, command.Parameters);
            statement.GetValues(values, entry);
            for (var i = 0; i < values.Length; i++)
            {
                parameters[i].Value = values[i] ?? DBNull.Value;
            }

            commands.BatchCommands.Add(command);
        }

        await commands.ExecuteNonQueryAsync(cancellationToken);
    }

    private sealed record Column(IClrPropertyGetter Getter, ValueConverter? Converter, DbType? Type, string ParameterName);

    private sealed record Statement(string Sql, Column[] Columns)
    {
        /// <summary>The <c>INSERT</c> of every mapped column but store-generated ones, from the model and the provider.</summary>
        public static Statement Build(IModel model, ISqlGenerationHelper sql)
        {
            var entity = model.FindEntityType(typeof(AuditEntry)) ?? throw new InvalidOperationException("The model has no AuditEntry.");
            var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
            var properties = entity.GetProperties().Where(p => p.ValueGenerated == ValueGenerated.Never).ToArray();
            var names = properties.Select((_, i) => "p" + i.ToString(CultureInfo.InvariantCulture)).ToArray();
            var columns = properties.Select((p, i) =>
            {
                var mapping = p.GetRelationalTypeMapping();
                return new Column(p.GetGetter(), mapping.Converter, mapping.DbType, sql.GenerateParameterName(names[i]));
            });
            return new Statement(
                $"INSERT INTO {sql.DelimitIdentifier(table.Name, table.Schema)} " +
                $"({string.Join(", ", properties.Select(p => sql.DelimitIdentifier(p.GetColumnName(table)!)))}) " +
                $"VALUES ({string.Join(", ", names.Select(sql.GenerateParameterNamePlaceholder))})",
                [.. columns]);
        }

        /// <summary>One parameter per column, typed as the provider maps the property, added to <paramref name="collection"/>.</summary>
        public DbParameter[] AddParameters(Func<DbParameter> create, DbParameterCollection collection)
        {
            var parameters = new DbParameter[Columns.Length];
            for (var i = 0; i < Columns.Length; i++)
            {
                parameters[i] = create();
                parameters[i].ParameterName = Columns[i].ParameterName;
                if (Columns[i].Type is { } type)
                {
                    parameters[i].DbType = type;
                }

                collection.Add(parameters[i]);
            }

            return parameters;
        }

        /// <summary>The entry's values, converted to the provider's as the model converts them; null for none.</summary>
        public void GetValues(object?[] values, AuditEntry entry)
        {
            for (var i = 0; i < Columns.Length; i++)
            {
                var value = Columns[i].Getter.GetClrValue(entry);
                values[i] = value is not null && Columns[i].Converter is { } converter ? converter.ConvertToProvider(value) : value;
            }
        }
    }
}
