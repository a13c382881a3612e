using Gatehouse.Configuration;
using Gatehouse.Signing;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage;

internal static class StorageExtensions
{
    /// <summary>File name of the SQLite database inside <c>data_dir</c>.</summary>
    public const string SqliteFileName = "gatehouse.db";

    /// <summary>
    /// Registers the database (SQLite in <c>data_dir</c> or PostgreSQL), Data Protection with its key ring in that
    /// database, the signing keys, and the start-up step that migrates the schema before the listener opens.
    /// Storage settings are read once: changing them needs a restart.
    /// </summary>
    public static IServiceCollection AddGatehouseStorage(this IServiceCollection services, GatewayConfig config)
    {
        // Hosted services start in registration order: the schema must exist before Data Protection's own hosted
        // service reads the key ring, so this one is registered before AddDataProtection.
        services.AddHostedService<StorageInitializer>();
        services.AddGatehouseDatabase(config);

        // One application name and one key ring for every replica: a cookie or a protected secret written by one
        // instance is readable by all. https://learn.microsoft.com/aspnet/core/security/data-protection/configuration/overview
        var dataProtection = services.AddDataProtection()
            .SetApplicationName("gatehouse")
            .PersistKeysToDbContext<GatehouseDbContext>();
        if (config.DataProtection is { } protection)
        {
            // Keys are wrapped with the certificate's RSA key before they reach the database; earlier certificates
            // still decrypt keys written under them, so a certificate can be rotated without losing secrets.
            var current = Hosting.DataProtectionCertificates.Load(protection.CertificateFile, protection.CertificateKeyFile);
            var all = protection.PreviousCertificateFiles.Select(file => Hosting.DataProtectionCertificates.Load(file, file)).Prepend(current).ToArray();
            dataProtection.ProtectKeysWithCertificate(current).UnprotectKeysWithAnyCertificate(all);
        }

        services.AddSingleton<StorageHealth>();
        services.AddSingleton<ServerSecretStore>();
        services.AddSingleton(new SigningKeyOptions(config.AuthorizationServer.SigningKeyFile));
        services.AddSingleton<SigningKeyStore>();
        services.AddHostedService<SigningKeyRefresher>();
        return services;
    }

    /// <summary>The database alone (SQLite in <c>data_dir</c> or PostgreSQL), for the gateway and for commands.</summary>
    public static IServiceCollection AddGatehouseDatabase(this IServiceCollection services, GatewayConfig config)
    {
        services.AddSingleton(new StorageLocation(config.Storage.Type, config.DataDirectory));
        switch (config.Storage.Type)
        {
            case StorageType.Postgres:
                var connectionString = config.Storage.ConnectionString!;
                services.AddDbContext<GatehouseDbContext, PostgresGatehouseDbContext>(options => options.UseNpgsql(connectionString));
                break;
            default:
                var sqlite = new SqliteConnectionStringBuilder
                {
                    DataSource = Path.Combine(config.DataDirectory, SqliteFileName),
                    Pooling = true,
                    // Writers from other replicas on the same file wait rather than fail (SQLITE_BUSY is retried).
                    DefaultTimeout = 30,
                }.ToString();
                services.AddDbContext<GatehouseDbContext, SqliteGatehouseDbContext>(options => options.UseSqlite(sqlite));
                break;
        }

        return services;
    }
}

/// <summary>Which backend is in use, for messages; holds no secret.</summary>
internal sealed record StorageLocation(StorageType Type, string DataDirectory)
{
    public string DisplayName => Type == StorageType.Postgres ? "PostgreSQL" : "SQLite";
}
