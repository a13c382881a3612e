using Npgsql;

namespace Gatehouse.Tests.Infrastructure;

/// <summary>
/// A fresh, empty storage for one test: the top-level YAML that points a gateway at it, and its removal afterwards.
/// Gateways started with the same <see cref="Yaml"/> share the database, like replicas.
/// </summary>
internal abstract class TestStorage : IAsyncDisposable
{
    protected TestStorage(string dataDirectory) => DataDirectory = dataDirectory;

    public string DataDirectory { get; }

    public abstract string Yaml { get; }

    public abstract ValueTask DisposeAsync();
}

internal sealed class SqliteTestStorage() : TestStorage(Directory.CreateTempSubdirectory("gatehouse-sqlite-").FullName)
{
    public override string Yaml => $"data_dir: '{DataDirectory}'";

    public override ValueTask DisposeAsync()
    {
        // Pooled connections keep the file open; on Linux the directory can still go.
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(DataDirectory, recursive: true);
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// A database of its own (random name) on the PostgreSQL server that scripts/test.sh starts on loopback and names
/// in GATEHOUSE_TEST_POSTGRES. Without that variable the test fails: skipping would hide that half the storage
/// tests did not run.
/// </summary>
internal sealed class PostgresTestStorage : TestStorage
{
    public const string EnvironmentVariable = "GATEHOUSE_TEST_POSTGRES";

    private readonly string _adminConnectionString;

    private PostgresTestStorage(string adminConnectionString, string databaseName)
        : base(Directory.CreateTempSubdirectory("gatehouse-pg-").FullName)
    {
        _adminConnectionString = adminConnectionString;
        DatabaseName = databaseName;
        ConnectionString = new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = databaseName }.ConnectionString;
    }

    public string DatabaseName { get; }

    public string ConnectionString { get; }

    public override string Yaml => YamlFor(ConnectionString);

    public string YamlFor(string connectionString) => $"""
        data_dir: '{DataDirectory}'
        databroker_storage_type: postgres
        databroker_storage_connection_string: '{connectionString}'
        """;

    public static string AdminConnectionString =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{EnvironmentVariable} is not set, so the PostgreSQL storage tests cannot run. Run scripts/test.sh, which starts " +
                "PostgreSQL 15 on 127.0.0.1 and sets it, or set it yourself (Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres).");

    public static async Task<PostgresTestStorage> CreateAsync()
    {
        var admin = AdminConnectionString;
        var name = "gatehouse_test_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await create.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        return new PostgresTestStorage(admin, name);
    }

    public override async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using (var connection = new NpgsqlConnection(_adminConnectionString))
        {
            await connection.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{DatabaseName}\" WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync();
        }

        Directory.Delete(DataDirectory, recursive: true);
    }
}
