using System.Text.Json;
using Gatehouse.Servers.Northwind.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Servers.Northwind.Tests;

public sealed class ResourceTests : IAsyncLifetime
{
    private NorthwindTestServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await NorthwindTestServer.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ListResources_Always_IncludesTheSchema()
    {
        var resources = await _server.Client.ListResourcesAsync(cancellationToken: TestContext.Current.CancellationToken);
        var templates = await _server.Client.ListResourceTemplatesAsync(cancellationToken: TestContext.Current.CancellationToken);

        Assert.Contains(resources, r => r.Uri == "northwind://schema" && r.MimeType == "application/json");
        Assert.Contains(templates, t => t.UriTemplate == "northwind://schema/{table}");
    }

    [Fact]
    public async Task ReadResource_Schema_DescribesEveryTable()
    {
        var json = await ReadJsonAsync("northwind://schema");

        var tables = json.GetProperty("tables").EnumerateArray().ToList();
        Assert.Equal(8, tables.Count);
        var orders = Assert.Single(tables, t => t.GetProperty("name").GetString() == "orders");
        Assert.Contains(orders.GetProperty("columns").EnumerateArray(), c => c.GetProperty("name").GetString() == "order_date");
        Assert.NotEmpty(json.GetProperty("notes").EnumerateArray());
    }

    [Fact]
    public async Task ReadResource_TableTemplate_DescribesThatTable()
    {
        var json = await ReadJsonAsync("northwind://schema/customers");

        Assert.Equal("customers", json.GetProperty("name").GetString());
        Assert.Equal(["customer_id"], json.GetProperty("primaryKey").EnumerateArray().Select(c => c.GetString()));
    }

    [Fact]
    public async Task ReadResource_UnknownTable_FailsWithResourceNotFound()
    {
        var ex = await Assert.ThrowsAsync<McpProtocolException>(
            () => _server.Client.ReadResourceAsync("northwind://schema/invoices", cancellationToken: TestContext.Current.CancellationToken).AsTask());

        Assert.Equal(McpErrorCode.ResourceNotFound, ex.ErrorCode);
        Assert.Contains("invoices", ex.Message, StringComparison.Ordinal);
    }

    private async Task<JsonElement> ReadJsonAsync(string uri)
    {
        var result = await _server.Client.ReadResourceAsync(uri, cancellationToken: TestContext.Current.CancellationToken);
        var contents = Assert.IsType<TextResourceContents>(Assert.Single(result.Contents));
        Assert.Equal("application/json", contents.MimeType);
        using var document = JsonDocument.Parse(contents.Text);
        return document.RootElement.Clone();
    }
}
