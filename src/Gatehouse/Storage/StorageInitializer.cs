using Gatehouse.Configuration;
using Gatehouse.Signing;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage;

/// <summary>
/// Brings the database to the current schema and loads the signing keys. Hosted services start before Kestrel
/// (WebApplicationBuilder registers the server last), so no request is accepted against an old schema. Two
/// replicas migrating at once are safe: since EF Core 9, <c>Migrate</c> holds a database-wide lock
/// (<c>__EFMigrationsLock</c> on SQLite, an exclusive lock on <c>__EFMigrationsHistory</c> on PostgreSQL) and
/// the second replica finds nothing left to apply.
/// </summary>
internal sealed partial class StorageInitializer(
    IServiceScopeFactory scopes, StorageLocation location, SigningKeyStore signingKeys, ILogger<StorageInitializer> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
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

            await db.Database.MigrateAsync(cancellationToken);
            var schema = db.Database.GetMigrations().LastOrDefault() ?? "(none)";
            LogMigrated(logger, location.DisplayName, schema);
        }

        await signingKeys.RefreshAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

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
