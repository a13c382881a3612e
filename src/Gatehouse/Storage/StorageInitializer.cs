using Gatehouse.Configuration;
using Gatehouse.Signing;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage;

/// <summary>
/// Brings the database to the current schema and loads the signing keys. Hosted services start before Kestrel
/// (WebApplicationBuilder registers the server last), so no request is accepted against an old schema. Two
/// replicas migrating at once are safe: on SQLite, EF Core 9+'s <c>__EFMigrationsLock</c> is held for the whole
/// <c>Migrate</c>; on PostgreSQL, EF Core's lock (<c>LOCK TABLE "__EFMigrationsHistory"</c>) lasts only for one
/// migration's transaction, so a replica that read the history before another committed would re-apply a migration
/// ("relation already exists") once there is more than one. A session-level advisory lock around the whole
/// <c>Migrate</c> closes that window; the second replica then finds nothing left to apply.
/// </summary>
internal sealed partial class StorageInitializer(
    IServiceScopeFactory scopes, StorageLocation location, SigningKeyStore signingKeys, ILogger<StorageInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await MigrateAsync(scopes, location, logger, cancellationToken);
        await signingKeys.RefreshAsync(cancellationToken);
    }

    /// <summary>Brings the database to the current schema (also used by commands that open storage directly).</summary>
    public static async Task MigrateAsync(IServiceScopeFactory scopes, StorageLocation location, ILogger logger, CancellationToken cancellationToken)
    {
        if (location.Type == StorageType.Sqlite)
        {
            CreateDataDirectory(location.DataDirectory);
        }

        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
            if (location.Type == StorageType.Sqlite)
            {
                // WAL lets readers proceed while a writer commits; the mode is stored in the file, so once is enough.
                await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
            }

            if (location.Type == StorageType.Postgres)
            {
                await MigratePostgresAsync(db, cancellationToken);
            }
            else
            {
                await db.Database.MigrateAsync(cancellationToken);
            }

            var schema = db.Database.GetMigrations().LastOrDefault() ?? "(none)";
            LogMigrated(logger, location.DisplayName, schema);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>An arbitrary constant that names Gatehouse's migration lock among the database's advisory locks.</summary>
    private const long PostgresMigrationLockKey = 0x6761_7465_686f_7573; // "gatehous"

    /// <summary>
    /// Holds <c>pg_advisory_lock</c> on one open connection for the whole migration. The lock belongs to the session,
    /// so it spans the per-migration transactions, and PostgreSQL releases it if this process dies.
    /// https://www.postgresql.org/docs/15/explicit-locking.html#ADVISORY-LOCKS
    /// </summary>
    private static async Task MigratePostgresAsync(GatehouseDbContext db, CancellationToken cancellationToken)
    {
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_lock({PostgresMigrationLockKey})", cancellationToken);
            try
            {
                await db.Database.MigrateAsync(cancellationToken);
            }
            finally
            {
                await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_unlock({PostgresMigrationLockKey})", CancellationToken.None);
            }
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    private static void CreateDataDirectory(string path)
    {
        if (Directory.Exists(path))
        {
            return;
        }

        // The database holds the Data Protection key ring: only the gateway's user should read it.
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Information, Message = "Storage ({Provider}) is ready at schema {Migration}")]
    private static partial void LogMigrated(ILogger logger, string provider, string migration);
}
