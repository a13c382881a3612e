using System.Data;
using System.Data.Common;
using Gatehouse.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace Gatehouse.Audit;

/// <summary>
/// Inserts a batch of audit rows in one transaction with one parameterised <c>INSERT</c>, prepared once and executed
/// per row (SQLite, in process) or sent as one <see cref="DbBatch"/> (PostgreSQL: one round trip). EF Core's
/// <c>SaveChanges</c> did the same job at about 60 µs of CPU per row on the benchmark machine (change tracking, a
/// command built per row, generated ids read back), more than the whole proxied request, on the gateway's own core
/// (docs/performance.md); the rows are append-only and nothing reads their ids back, so none of that is needed.
/// Table and column names come from the EF Core model, so the statement follows the migrations.
/// </summary>
internal static class AuditInsert
{
    /// <summary>The columns written, in order, with the value each takes from an entry (converted as the model converts it).</summary>
    private static readonly (string Property, DbType Type, Func<AuditEntry, object?> Value)[] s_columns =
    [
        (nameof(AuditEntry.Time), DbType.Int64, e => UnixMilliseconds.Converter.ConvertToProvider(e.Time)),
        (nameof(AuditEntry.RequestId), DbType.String, e => e.RequestId),
        (nameof(AuditEntry.Subject), DbType.String, e => e.Subject),
        (nameof(AuditEntry.Email), DbType.String, e => e.Email),
        (nameof(AuditEntry.ClientId), DbType.String, e => e.ClientId),
        (nameof(AuditEntry.Route), DbType.String, e => e.Route),
        (nameof(AuditEntry.SessionId), DbType.String, e => e.SessionId),
        (nameof(AuditEntry.JsonRpcId), DbType.String, e => e.JsonRpcId),
        (nameof(AuditEntry.Method), DbType.String, e => e.Method),
        (nameof(AuditEntry.Target), DbType.String, e => e.Target),
        (nameof(AuditEntry.Arguments), DbType.String, e => e.Arguments),
        (nameof(AuditEntry.Decision), DbType.String, e => AuditDecisions.ToText(e.Decision)),
        (nameof(AuditEntry.Rule), DbType.String, e => e.Rule),
        (nameof(AuditEntry.UpstreamStatus), DbType.Int32, e => e.UpstreamStatus),
        (nameof(AuditEntry.ErrorCode), DbType.Int32, e => e.ErrorCode),
        (nameof(AuditEntry.LatencyMs), DbType.Double, e => e.LatencyMs),
    ];

    /// <summary>The statement per model (one per provider in a process); built once.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<IModel, (string Sql, string[] Parameters)> s_statements = new();

    /// <summary>Stores every entry, in order, or none (the transaction is rolled back when anything fails).</summary>
    public static async Task InsertAsync(GatehouseDbContext db, IReadOnlyList<AuditEntry> batch, CancellationToken cancellationToken)
    {
        var (sql, parameters) = s_statements.GetOrAdd(db.Model, static (model, db) => Build(model, db.GetService<ISqlGenerationHelper>()), db);
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var connection = db.Database.GetDbConnection();
            if (connection.CanCreateBatch)
            {
                await InsertAsBatchAsync(connection, transaction.GetDbTransaction(), sql, parameters, batch, cancellationToken);
            }
            else
            {
                await InsertOneByOneAsync(connection, transaction.GetDbTransaction(), sql, parameters, batch, cancellationToken);
            }

            await transaction.CommitAsync(cancellationToken);
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    /// <summary>The statement, with the provider's quoting and placeholders, and its parameters' names.</summary>
    private static (string Sql, string[] Parameters) Build(IModel model, ISqlGenerationHelper sql)
    {
        var entity = model.FindEntityType(typeof(AuditEntry)) ?? throw new InvalidOperationException("The model has no AuditEntry.");
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var columns = s_columns.Select(c => sql.DelimitIdentifier(entity.FindProperty(c.Property)!.GetColumnName(table)!));
        var names = s_columns.Select((_, i) => "p" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var values = names.Select(sql.GenerateParameterNamePlaceholder);
        return ($"INSERT INTO {sql.DelimitIdentifier(table.Name, table.Schema)} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", values)})",
            [.. names.Select(sql.GenerateParameterName)]);
    }

    /// <summary>SQLite: the statement is prepared once and run per row; each run is a call into the library, not a round trip.</summary>
    private static async Task InsertOneByOneAsync(
        DbConnection connection, DbTransaction transaction, string sql, string[] names, IReadOnlyList<AuditEntry> batch, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        var parameters = new DbParameter[s_columns.Length];
        for (var i = 0; i < s_columns.Length; i++)
        {
            parameters[i] = command.CreateParameter();
            parameters[i].ParameterName = names[i];
            parameters[i].DbType = s_columns[i].Type;
            command.Parameters.Add(parameters[i]);
        }

        await command.PrepareAsync(cancellationToken);
        foreach (var entry in batch)
        {
            for (var i = 0; i < s_columns.Length; i++)
            {
                parameters[i].Value = s_columns[i].Value(entry) ?? DBNull.Value;
            }

            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>Providers that batch (PostgreSQL): every row's command goes to the server in one round trip.</summary>
    private static async Task InsertAsBatchAsync(
        DbConnection connection, DbTransaction transaction, string sql, string[] names, IReadOnlyList<AuditEntry> batch, CancellationToken cancellationToken)
    {
        await using var commands = connection.CreateBatch();
        commands.Transaction = transaction;
        foreach (var entry in batch)
        {
            var command = commands.CreateBatchCommand();
            command.CommandText = sql;
            for (var i = 0; i < s_columns.Length; i++)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = names[i];
                parameter.DbType = s_columns[i].Type;
                parameter.Value = s_columns[i].Value(entry) ?? DBNull.Value;
                command.Parameters.Add(parameter);
            }

            commands.BatchCommands.Add(command);
        }

        await commands.ExecuteNonQueryAsync(cancellationToken);
    }
}
