using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Servers.Northwind.Data;

/// <summary>The database file the server reads, and the one place that creates it.</summary>
internal sealed class NorthwindDatabase
{
    public static readonly IReadOnlyList<string> Tables =
        ["categories", "customers", "employees", "order_details", "orders", "products", "shippers", "suppliers"];

    public NorthwindDatabase(string path)
    {
        FullPath = Path.GetFullPath(path);
        ReadOnlyConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FullPath,
            // SQLITE_OPEN_READONLY: the first of the query tool's guards, and it holds for the schema reads too.
            Mode = SqliteOpenMode.ReadOnly,
            // Each query connection gets its own authorizer and progress handler; a fresh handle means none
            // of that state can leak from one caller to the next through the pool.
            Pooling = false,
        }.ToString();
    }

    public string FullPath { get; }

    public string ReadOnlyConnectionString { get; }

    public SqliteConnection OpenReadOnly()
    {
        var connection = new SqliteConnection(ReadOnlyConnectionString);
        connection.Open();
        return connection;
    }

    /// <summary>
    /// Generates the database if the file is missing. It is written to a temporary file in the same folder and
    /// then renamed into place, so a crash mid-way leaves at worst a stray temp file, never a half-built
    /// database that a later start would mistake for a complete one.
    /// </summary>
    public void EnsureCreated(ILogger logger, int seed = NorthwindGenerator.DefaultSeed)
    {
        if (File.Exists(FullPath))
        {
            Validate();
            Log.UsingExistingDatabase(logger, FullPath);
            return;
        }

        var directory = Path.GetDirectoryName(FullPath)!;
        Directory.CreateDirectory(directory);
        var tempPath = Path.Combine(directory, $".{Path.GetFileName(FullPath)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var stopwatch = Stopwatch.StartNew();
            var summary = NorthwindGenerator.Generate(tempPath, seed);
            try
            {
                // overwrite: false so that two processes racing on a first start cannot replace each other's file.
                File.Move(tempPath, FullPath, overwrite: false);
            }
            catch (IOException) when (File.Exists(FullPath))
            {
                Log.LostCreationRace(logger, FullPath);
                Validate();
                return;
            }

            Log.CreatedDatabase(logger, FullPath, summary.Orders, summary.OrderLines, summary.FirstYear, summary.LastYear,
                stopwatch.ElapsedMilliseconds);
        }
        finally
        {
            File.Delete(tempPath);
            File.Delete(tempPath + "-journal");
        }
    }

    /// <summary>Fails fast when the path names some other file, rather than serving a confusing schema.</summary>
    private void Validate()
    {
        List<string> present;
        try
        {
            using var connection = OpenReadOnly();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT name FROM sqlite_schema WHERE type = 'table'";
            using var reader = command.ExecuteReader();
            present = [];
            while (reader.Read())
            {
                present.Add(reader.GetString(0));
            }
        }
        catch (SqliteException ex)
        {
            throw new InvalidOperationException(
                $"'{FullPath}' exists but is not a readable SQLite database ({ex.Message}). " +
                "Delete it to have the Northwind database generated there, or pass another path with --db.", ex);
        }

        var missing = Tables.Except(present, StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"'{FullPath}' exists but is not a Northwind database (missing tables: {string.Join(", ", missing)}). " +
                "Delete it to have the Northwind database generated there, or pass another path with --db.");
        }
    }
}
