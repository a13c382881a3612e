using Gatehouse.Servers.Northwind.Tests.Infrastructure;
using ModelContextProtocol.Client;

namespace Gatehouse.Servers.Northwind.Tests;

public sealed class ServerTests : IAsyncLifetime
{
    private NorthwindTestServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await NorthwindTestServer.StartAsync();

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public void Build_PortZero_BindsLoopbackOnAnAssignedPort()
    {
        var address = new Uri(Assert.Single(_server.App.Urls));

        Assert.Equal("127.0.0.1", address.Host);
        Assert.NotEqual(0, address.Port);
    }

    [Fact]
    public void Build_MissingDatabase_CreatesItBeforeReturning()
    {
        Assert.True(File.Exists(_server.DatabasePath));
        Assert.Equal(["northwind.db"], _server.Directory.FileNames());
    }

    [Fact]
    public async Task ListTools_Connected_ReturnsTheThreeReadOnlyTools()
    {
        var tools = await _server.Client.ListToolsAsync(cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(["describe_table", "list_tables", "query"], tools.Select(t => t.Name).Order(StringComparer.Ordinal));
        Assert.All(tools, t => Assert.True(t.ProtocolTool.Annotations?.ReadOnlyHint));
        Assert.All(tools, t => Assert.False(string.IsNullOrWhiteSpace(t.Description)));
    }

    [Fact]
    public async Task Connect_LegacySseEndpoint_ServesTheSameTools()
    {
        await using var client = await NorthwindTestServer.ConnectAsync(new Uri(_server.BaseUri, "/mcp/sse"), HttpTransportMode.Sse);

        var tools = await client.ListToolsAsync(cancellationToken: TestContext.Current.CancellationToken);

        Assert.Contains(tools, t => t.Name == "query");
    }

    [Fact]
    public void Connect_StreamableHttp_GetsASession()
    {
        // Stateful mode: the gateway relies on Mcp-Session-Id to route a client's requests.
        Assert.False(string.IsNullOrEmpty(_server.Client.SessionId));
        Assert.Equal("gatehouse-northwind", _server.Client.ServerInfo?.Name);
    }
}
