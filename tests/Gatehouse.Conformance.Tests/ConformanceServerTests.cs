using Gatehouse.Conformance.Server;

namespace Gatehouse.Conformance.Tests;

public sealed class ConformanceServerTests
{
    [Theory]
    [InlineData("http://0.0.0.0:0")]
    [InlineData("http://example.com:8080")]
    [InlineData("http://127.0.0.1:0;http://[::]:0")]
    public void Build_NonLoopbackUrl_ThrowsNamingTheUrl(string urls)
    {
        var error = Assert.Throws<ArgumentException>(() => ConformanceServer.Build(urls));

        Assert.Contains("loopback", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_LoopbackPortZero_BindsAFreeLoopbackPort()
    {
        await using var server = await ConformanceServerHost.StartAsync(TestContext.Current.CancellationToken);

        var uri = new Uri(server.McpUrl);
        Assert.Equal("127.0.0.1", uri.Host);
        Assert.NotEqual(0, uri.Port);
        Assert.Equal(ConformanceServer.McpPath, uri.AbsolutePath);
    }
}
