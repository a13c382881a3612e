using System.Security.Cryptography;
using System.Text;
using Gatehouse.Servers.Northwind.Data;
using Gatehouse.Servers.Northwind.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Servers.Northwind.Tests;

public sealed class GeneratorTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Generate_SameSeedTwice_ProducesIdenticalContent()
    {
        NorthwindGenerator.Generate(_directory.File("a.db"));
        NorthwindGenerator.Generate(_directory.File("b.db"));

        Assert.Equal(ContentHash(_directory.File("a.db")), ContentHash(_directory.File("b.db")));
    }

    [Fact]
    public void Generate_DifferentSeed_ProducesDifferentContent()
    {
        NorthwindGenerator.Generate(_directory.File("a.db"), seed: 1);
        NorthwindGenerator.Generate(_directory.File("b.db"), seed: 2);

        Assert.NotEqual(ContentHash(_directory.File("a.db")), ContentHash(_directory.File("b.db")));
    }

    [Fact]
    public void Generate_DefaultSeed_HasSeveralThousandOrdersInEachYear2022To2025()
    {
        var path = _directory.File("n.db");
        var summary = NorthwindGenerator.Generate(path);

        using var connection = Open(path);
        var perYear = new Dictionary<string, long>();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT strftime('%Y', order_date), count(*) FROM orders GROUP BY 1";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                perYear[reader.GetString(0)] = reader.GetInt64(1);
            }
        }

        Assert.Equal(["2022", "2023", "2024", "2025"], perYear.Keys.Order(StringComparer.Ordinal));
        Assert.All(perYear.Values, count => Assert.InRange(count, 400, 1_500));
        Assert.InRange(summary.Orders, 2_000, 5_000);
        Assert.Equal(summary.Orders, perYear.Values.Sum());
    }

    [Fact]
    public void Generate_DefaultSeed_KeepsEveryForeignKeyValid()
    {
        var path = _directory.File("n.db");
        NorthwindGenerator.Generate(path);

        using var connection = Open(path);
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA foreign_key_check";
        using var reader = command.ExecuteReader();

        Assert.False(reader.Read(), "foreign_key_check reported a dangling reference");
    }

    [Fact]
    public void EnsureCreated_MissingFileInMissingFolder_CreatesDatabaseAndLeavesNoTempFile()
    {
        var path = Path.Combine(_directory.Path, "nested", "northwind.db");

        new NorthwindDatabase(path).EnsureCreated(NullLogger.Instance);

        Assert.True(File.Exists(path));
        Assert.Equal(["northwind.db"], Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(path)!).Select(Path.GetFileName));
    }

    [Fact]
    public void EnsureCreated_ExistingNorthwindFile_LeavesItUntouched()
    {
        var path = _directory.File("northwind.db");
        NorthwindGenerator.Generate(path, seed: 7);
        var before = File.ReadAllBytes(path);

        new NorthwindDatabase(path).EnsureCreated(NullLogger.Instance);

        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void EnsureCreated_ExistingForeignSqliteFile_ThrowsNamingTheFix()
    {
        var path = _directory.File("other.db");
        using (var connection = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TABLE notes (id INTEGER PRIMARY KEY)";
            command.ExecuteNonQuery();
        }

        var ex = Assert.Throws<InvalidOperationException>(() => new NorthwindDatabase(path).EnsureCreated(NullLogger.Instance));

        Assert.Contains("not a Northwind database", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--db", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EnsureCreated_ExistingNonSqliteFile_ThrowsNamingTheFix()
    {
        var path = _directory.File("notes.txt");
        File.WriteAllText(path, "this is not a database, just some text that is long enough to have a header");

        var ex = Assert.Throws<InvalidOperationException>(() => new NorthwindDatabase(path).EnsureCreated(NullLogger.Instance));

        Assert.Contains("Delete it", ex.Message, StringComparison.Ordinal);
    }

    private static SqliteConnection Open(string path)
    {
        var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return connection;
    }

    /// <summary>A hash of every row of every table, in key order: equal exactly when the data is.</summary>
    private static string ContentHash(string path)
    {
        using var connection = Open(path);
        var text = new StringBuilder();
        foreach (var table in NorthwindDatabase.Tables)
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"SELECT * FROM {table} ORDER BY 1, 2";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    text.Append(reader.IsDBNull(i) ? "NULL" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).Append('|');
                }

                text.Append('\n');
            }
        }

        Assert.True(text.Length > 100_000, "the database looks empty");
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
