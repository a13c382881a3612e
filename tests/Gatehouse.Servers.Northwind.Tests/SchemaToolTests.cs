using Gatehouse.Servers.Northwind.Tests.Infrastructure;

namespace Gatehouse.Servers.Northwind.Tests;

public sealed class SchemaToolTests : IAsyncLifetime
{
    private NorthwindTestServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await NorthwindTestServer.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ListTables_Always_ReturnsTheEightTablesWithRowCounts()
    {
        var json = (await _server.CallAsync("list_tables")).Json();

        var counts = json.GetProperty("tables").EnumerateArray()
            .ToDictionary(t => t.GetProperty("name").GetString()!, t => t.GetProperty("rows").GetInt64());
        Assert.Equal(
            ["categories", "customers", "employees", "order_details", "orders", "products", "shippers", "suppliers"],
            counts.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(8, counts["categories"]);
        Assert.Equal(77, counts["products"]);
        Assert.Equal(3, counts["shippers"]);
        Assert.InRange(counts["orders"], 2_000, 5_000);
        Assert.True(counts["order_details"] > counts["orders"]);
    }

    [Fact]
    public async Task DescribeTable_OrderDetails_ListsColumnsCompositeKeyAndForeignKeys()
    {
        var json = (await _server.CallAsync("describe_table", "table", "order_details")).Json();

        Assert.Equal("order_details", json.GetProperty("name").GetString());
        Assert.True(json.GetProperty("rows").GetInt64() > 0);
        var columns = json.GetProperty("columns").EnumerateArray().ToDictionary(c => c.GetProperty("name").GetString()!);
        Assert.Equal(["order_id", "product_id", "unit_price", "quantity", "discount"], columns.Keys);
        Assert.Equal("REAL", columns["unit_price"].GetProperty("type").GetString());
        Assert.Equal(["order_id", "product_id"], json.GetProperty("primaryKey").EnumerateArray().Select(c => c.GetString()));
        var foreignKeys = json.GetProperty("foreignKeys").EnumerateArray()
            .Select(f => $"{f.GetProperty("column").GetString()}->{f.GetProperty("referencesTable").GetString()}.{f.GetProperty("referencesColumn").GetString()}")
            .Order(StringComparer.Ordinal);
        Assert.Equal(["order_id->orders.order_id", "product_id->products.product_id"], foreignKeys);
    }

    [Fact]
    public async Task DescribeTable_NameInOtherCase_FindsTheTable()
    {
        var json = (await _server.CallAsync("describe_table", "table", "Orders")).Json();

        Assert.Equal("orders", json.GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("invoices")]
    [InlineData("orders; DROP TABLE orders")]
    [InlineData("sqlite_schema")]
    public async Task DescribeTable_UnknownTable_ReturnsToolErrorListingTheTables(string table)
    {
        var result = await _server.CallAsync("describe_table", "table", table);

        Assert.True(result.IsError);
        Assert.Contains($"Unknown table '{table}'", result.Text(), StringComparison.Ordinal);
        Assert.Contains("order_details", result.Text(), StringComparison.Ordinal);
    }
}
