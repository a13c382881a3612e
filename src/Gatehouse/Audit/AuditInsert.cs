using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Globalization;
using Gatehouse.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Gatehouse.Audit;

/// <summary>
/// Inserts a batch of audit rows in one transaction with one parameterised <c>INSERT</c>: prepared once and run per
/// row on SQLite (each run is a call into the library, not a round trip), sent as one <see cref="DbBatch"/> where the
/// provider batches (PostgreSQL: one round trip).
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
            if (connection.CanCreateBatch)
            {
                await InsertAsBatchAsync(connection, transaction.GetDbTransaction(), statement, batch, cancellationToken);
            }
            else
            {
                await InsertOneByOneAsync(connection, transaction.GetDbTransaction(), statement, batch, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>SQLite: the statement is prepared once and run per row.</summary>
    private static async Task InsertOneByOneAsync(
        DbConnection connection, DbTransaction transaction, Statement statement, IReadOnlyList<AuditEntry> batch, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = statement.Sql;
        var parameters = statement.AddParameters(command.CreateParameter, command.Parameters);
        await command.PrepareAsync(cancellationToken);
        foreach (var entry in batch)
        {
            statement.SetValues(parameters, entry);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Providers that batch (PostgreSQL): every row's command goes to the server in one round trip.</summary>
    private static async Task InsertAsBatchAsync(
        DbConnection connection, DbTransaction transaction, Statement statement, IReadOnlyList<AuditEntry> batch, CancellationToken cancellationToken)
    {
        await using var commands = connection.CreateBatch();
        commands.Transaction = transaction;
        foreach (var entry in batch)
        {
            var command = commands.CreateBatchCommand();
            command.CommandText = statement.Sql;
            statement.SetValues(statement.AddParameters(command.CreateParameter, command.Parameters), entry);
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

        /// <summary>The entry's values, converted to the provider's as the model converts them.</summary>
        public void SetValues(DbParameter[] parameters, AuditEntry entry)
        {
            for (var i = 0; i < Columns.Length; i++)
            {
                var value = Columns[i].Getter.GetClrValue(entry);
                if (value is not null && Columns[i].Converter is { } converter)
                {
                    value = converter.ConvertToProvider(value);
                }

                parameters[i].Value = value ?? DBNull.Value;
            }
        }
    }
}
