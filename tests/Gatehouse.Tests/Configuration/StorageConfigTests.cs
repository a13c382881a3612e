using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

public sealed class StorageConfigTests
{
    private const string Routes = """
        routes:
          - from: https://mcp.example.com
            to: http://127.0.0.1:5081
            allow_public_unauthenticated_access: true
        """;

    private static GatewayConfig Loads(string topLevel, Func<string, string?>? env = null, string? baseDirectory = null) =>
        new YamlConfigReader(env ?? (_ => null), baseDirectory).Read(topLevel + "\n" + Routes, "test.yaml");

    private static ConfigError FailsOnce(string topLevel, Func<string, string?>? env = null) =>
        Assert.Single(Assert.Throws<ConfigException>(() => Loads(topLevel, env)).Errors);

    [Fact]
    public void Read_NoStorageKeys_SqliteInXdgDataHome()
    {
        var config = Loads("", name => name == "XDG_DATA_HOME" ? "/srv/data" : "/home/ann");

        Assert.Equal("/srv/data/gatehouse", config.DataDirectory);
        Assert.Equal(StorageType.Sqlite, config.Storage.Type);
        Assert.Null(config.Storage.ConnectionString);
    }

    [Fact]
    public void Read_NoXdgDataHome_DefaultsUnderHomeLocalShare()
    {
        var config = Loads("", name => name == "HOME" ? "/home/ann" : null);

        Assert.Equal("/home/ann/.local/share/gatehouse", config.DataDirectory);
    }

    [Fact]
    public void Read_RelativeXdgDataHome_IgnoredAsTheSpecSays()
    {
        var config = Loads("", name => name switch { "XDG_DATA_HOME" => "relative/dir", "HOME" => "/home/ann", _ => null });

        Assert.Equal("/home/ann/.local/share/gatehouse", config.DataDirectory);
    }

    [Fact]
    public void Read_RelativeDataDir_ResolvedAgainstConfigFileDirectory()
    {
        var config = Loads("data_dir: state/gatehouse", baseDirectory: "/etc/gatehouse");

        Assert.Equal("/etc/gatehouse/state/gatehouse", config.DataDirectory);
    }

    [Fact]
    public void Read_DataDirFromEnvironment_Substituted()
    {
        var config = Loads("data_dir: ${STATE_DIRECTORY}/gh", name => name == "STATE_DIRECTORY" ? "/var/lib/gatehouse" : null);

        Assert.Equal("/var/lib/gatehouse/gh", config.DataDirectory);
    }

    [Fact]
    public void Read_DataDirIsAFile_ErrorNamesKeyAndFix()
    {
        var file = Path.GetTempFileName();
        try
        {
            var error = FailsOnce($"data_dir: {file}");

            Assert.Equal("data_dir", error.Key);
            Assert.Equal((1, 11), (error.Line, error.Column));
            Assert.Contains("must name a directory", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Read_EmptyDataDir_ErrorSaysWhatToWrite()
    {
        var error = FailsOnce("data_dir: ''");

        Assert.Equal("data_dir", error.Key);
        Assert.Contains("expected a directory path", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_Postgres_ConnectionStringFromEnvironment()
    {
        var config = Loads("""
            databroker_storage_type: postgres
            databroker_storage_connection_string: Host=db.internal;Database=gatehouse;Username=gh;Password=${PGPASSWORD}
            """, name => name == "PGPASSWORD" ? "s3cret" : null);

        Assert.Equal(StorageType.Postgres, config.Storage.Type);
        Assert.Contains("Password=s3cret", config.Storage.ConnectionString, StringComparison.Ordinal);
        Assert.Contains("Host=db.internal", config.Storage.ConnectionString, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_PostgresUrl_AcceptedAsPomeriumWritesIt()
    {
        var config = Loads("""
            databroker_storage_type: postgres
            databroker_storage_connection_string: postgres://gh:p%40ss@db.internal:5433/gatehouse?sslmode=require
            """);

        var builder = new Npgsql.NpgsqlConnectionStringBuilder(config.Storage.ConnectionString);
        Assert.Equal(("db.internal", 5433, "gatehouse", "gh", "p@ss", Npgsql.SslMode.Require),
            (builder.Host, builder.Port, builder.Database, builder.Username, builder.Password, builder.SslMode));
    }

    [Fact]
    public void Read_PostgresWithoutConnectionString_ErrorNamesMissingKey()
    {
        var error = FailsOnce("databroker_storage_type: postgres");

        Assert.Equal("databroker_storage_type", error.Key);
        Assert.Equal((1, 26), (error.Line, error.Column));
        Assert.Contains("needs `databroker_storage_connection_string`", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_ConnectionStringWithSqlite_RefusedWithFix()
    {
        var error = FailsOnce("databroker_storage_connection_string: Host=db;Password=hunter2");

        Assert.Equal("databroker_storage_connection_string", error.Key);
        Assert.Contains("takes no connection string", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_InvalidConnectionString_ErrorNeverQuotesTheSecret()
    {
        var error = FailsOnce("""
            databroker_storage_type: postgres
            databroker_storage_connection_string: Hots=db;Password=hunter2
            """);

        Assert.Equal("databroker_storage_connection_string", error.Key);
        Assert.Equal((2, 39), (error.Line, error.Column));
        Assert.Contains("not a valid PostgreSQL connection string", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_UnknownStorageType_ErrorListsChoices()
    {
        var error = FailsOnce("databroker_storage_type: redis");

        Assert.Equal("databroker_storage_type", error.Key);
        Assert.Contains("expected `sqlite`", error.Message, StringComparison.Ordinal);
        Assert.Contains("`postgres`", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MissingEnvironmentVariableInConnectionString_ErrorNamesVariable()
    {
        var error = FailsOnce("""
            databroker_storage_type: postgres
            databroker_storage_connection_string: Host=db;Password=${PGPASSWORD}
            """);

        Assert.Contains("`PGPASSWORD` is not set", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToString_PostgresConfig_NeverPrintsTheConnectionString()
    {
        var config = Loads("""
            databroker_storage_type: postgres
            databroker_storage_connection_string: Host=db;Password=hunter2
            """);

        Assert.DoesNotContain("hunter2", config.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", config.Storage.ToString(), StringComparison.Ordinal);
    }
}
