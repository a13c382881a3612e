using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Servers.Northwind.Tests.Infrastructure;

namespace Gatehouse.Servers.Northwind.Tests;

public sealed class QueryToolTests : IAsyncLifetime
{
    private const string SalesByYear = """
        SELECT strftime('%Y', o.order_date) AS year,
               ROUND(SUM(od.unit_price * od.quantity * (1 - od.discount)), 2) AS sales
        FROM orders o
        JOIN order_details od ON od.order_id = o.order_id
        GROUP BY year
        ORDER BY year
        """;

    private NorthwindTestServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await NorthwindTestServer.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Query_SalesByYear_ReturnsOneRowPerYearWithPositiveTotals()
    {
        var json = (await _server.QueryAsync(SalesByYear)).Json();

        Assert.Equal(["year", "sales"], json.GetProperty("columns").EnumerateArray().Select(c => c.GetString()));
        var rows = json.GetProperty("rows").EnumerateArray().ToList();
        Assert.True(rows.Count >= 3, $"expected at least three years, got {rows.Count}");
        var years = rows.Select(r => r[0].GetString()).ToList();
        Assert.Equal(years.Distinct().Count(), years.Count);
        Assert.Equal(["2022", "2023", "2024", "2025"], years);
        Assert.All(rows, r => Assert.True(r[1].GetDouble() > 0, $"sales for {r[0]} is {r[1]}"));
        Assert.Equal(rows.Count, json.GetProperty("rowCount").GetInt32());
        Assert.False(json.GetProperty("truncated").GetBoolean());
    }

    [Fact]
    public async Task Query_MoreRowsThanTheCap_Returns500AndSaysSo()
    {
        var json = (await _server.QueryAsync("SELECT * FROM order_details")).Json();

        Assert.Equal(500, json.GetProperty("rows").GetArrayLength());
        Assert.Equal(500, json.GetProperty("rowCount").GetInt32());
        Assert.True(json.GetProperty("truncated").GetBoolean());
        Assert.Contains("500", json.GetProperty("note").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_ExactlyTheCap_IsNotMarkedTruncated()
    {
        var json = (await _server.QueryAsync("SELECT order_id FROM orders ORDER BY order_id LIMIT 500")).Json();

        Assert.Equal(500, json.GetProperty("rowCount").GetInt32());
        Assert.False(json.GetProperty("truncated").GetBoolean());
    }

    [Theory]
    [InlineData("SELECT 1 AS one;")]
    [InlineData("  -- the answer\nSELECT 1 AS one; -- trailing comment")]
    [InlineData("/* leading */ WITH t AS (SELECT 1 AS one) SELECT one FROM t ; ;")]
    public async Task Query_SingleStatementWithCommentsAndSemicolons_IsAllowed(string sql)
    {
        var json = (await _server.QueryAsync(sql)).Json();

        Assert.Equal(1, json.GetProperty("rows")[0][0].GetInt32());
    }

    [Fact]
    public async Task Query_ValuesOfEveryType_AreReadableJson()
    {
        var json = (await _server.QueryAsync(
            "SELECT 42 AS i, 2.5 AS r, 'Königlich Essen' AS t, NULL AS n, x'0102' AS b, 1e999 AS inf")).Json();

        var row = json.GetProperty("rows")[0];
        Assert.Equal(42, row[0].GetInt64());
        Assert.Equal(2.5, row[1].GetDouble());
        Assert.Equal("Königlich Essen", row[2].GetString());
        Assert.Equal(JsonValueKind.Null, row[3].ValueKind);
        Assert.Equal("<blob, 2 bytes>", row[4].GetString());
        Assert.Equal("Infinity", row[5].GetString());
    }

    [Fact]
    public async Task Query_LongText_IsCutAndNoted()
    {
        var json = (await _server.QueryAsync("SELECT printf('%.5000c', 'x') AS long_text")).Json();

        var cell = json.GetProperty("rows")[0][0].GetString()!;
        Assert.Equal(2001, cell.Length);
        Assert.EndsWith("…", cell, StringComparison.Ordinal);
        Assert.Contains("cut", json.GetProperty("note").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_SyntaxError_ReturnsToolErrorWithSqliteMessage()
    {
        var result = await _server.QueryAsync("SELECT FROM WHERE");

        Assert.True(result.IsError);
        Assert.Contains("syntax error", result.Text(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_UnknownTable_ReturnsToolError()
    {
        var result = await _server.QueryAsync("SELECT * FROM invoices");

        Assert.True(result.IsError);
        Assert.Contains("no such table: invoices", result.Text(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("-- nothing but a comment")]
    public async Task Query_Empty_ReturnsToolError(string sql)
    {
        var result = await _server.QueryAsync(sql);

        Assert.True(result.IsError);
        Assert.Contains("SELECT", result.Text(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("INSERT INTO shippers (company_name) VALUES ('Evil Express')", "SELECT or WITH")]
    [InlineData("UPDATE products SET unit_price = 0", "SELECT or WITH")]
    [InlineData("DELETE FROM orders", "SELECT or WITH")]
    [InlineData("/* hidden */ DELETE FROM orders", "SELECT or WITH")]
    [InlineData("REPLACE INTO shippers (shipper_id, company_name) VALUES (1, 'x')", "SELECT or WITH")]
    [InlineData("DROP TABLE order_details", "SELECT or WITH")]
    [InlineData("CREATE TABLE loot AS SELECT * FROM customers", "SELECT or WITH")]
    [InlineData("CREATE TEMP TABLE scratch (x)", "SELECT or WITH")]
    [InlineData("ALTER TABLE customers ADD COLUMN hacked TEXT", "SELECT or WITH")]
    [InlineData("BEGIN IMMEDIATE", "SELECT or WITH")]
    [InlineData("ATTACH DATABASE '{dir}/attached.db' AS other", "SELECT or WITH")]
    [InlineData("VACUUM INTO '{dir}/copy.db'", "SELECT or WITH")]
    [InlineData("PRAGMA user_version = 42", "SELECT or WITH")]
    [InlineData("PRAGMA journal_mode = WAL", "SELECT or WITH")]
    [InlineData("PRAGMA writable_schema = ON", "SELECT or WITH")]
    [InlineData("WITH doomed AS (SELECT order_id FROM orders) DELETE FROM order_details WHERE order_id IN (SELECT order_id FROM doomed)", "DELETE")]
    [InlineData("WITH x AS (SELECT 'Evil' AS n) INSERT INTO shippers (company_name) SELECT n FROM x", "INSERT")]
    [InlineData("WITH x AS (SELECT 1) UPDATE products SET unit_price = 0", "UPDATE")]
    [InlineData("SELECT load_extension('{dir}/evil.so')", "load_extension")]
    [InlineData("SELECT 1; DROP TABLE orders", "one SQL statement")]
    [InlineData("SELECT * FROM orders; DELETE FROM orders", "one SQL statement")]
    [InlineData("SELECT 1; ATTACH DATABASE '{dir}/attached.db' AS other", "one SQL statement")]
    [InlineData("SELECT 1; PRAGMA user_version = 42", "one SQL statement")]
    public async Task Query_AttemptToWriteOrEscape_IsRefusedAndDatabaseUnchanged(string sql, string expectedInMessage)
    {
        var before = Fingerprint();
        var filesBefore = _server.Directory.FileNames();

        var result = await _server.QueryAsync(sql.Replace("{dir}", _server.Directory.Path, StringComparison.Ordinal));

        Assert.True(result.IsError, $"expected a refusal, got: {result.Text()}");
        Assert.Contains(expectedInMessage, result.Text(), StringComparison.Ordinal);
        Assert.Equal(before, Fingerprint());
        Assert.Equal(filesBefore, _server.Directory.FileNames());
        // The server is still healthy after refusing.
        Assert.Equal(8, (await _server.QueryAsync("SELECT count(*) FROM categories")).Json().GetProperty("rows")[0][0].GetInt32());
    }

    private string Fingerprint() => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(_server.DatabasePath)));
}
