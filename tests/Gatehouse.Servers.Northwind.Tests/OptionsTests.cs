namespace Gatehouse.Servers.Northwind.Tests;

public sealed class OptionsTests
{
    [Theory]
    [InlineData("", "http://127.0.0.1:0", "/mcp", "DatabasePath")]
    [InlineData("n.db", "", "/mcp", "Urls")]
    [InlineData("n.db", "ftp://127.0.0.1:21", "/mcp", "Urls")]
    [InlineData("n.db", "127.0.0.1:5081", "/mcp", "Urls")]
    [InlineData("n.db", "http://127.0.0.1:0", "mcp", "McpPath")]
    public void Build_InvalidOption_ThrowsNamingTheOption(string databasePath, string urls, string mcpPath, string expectedName)
    {
        var options = new NorthwindServerOptions { DatabasePath = databasePath, Urls = urls, McpPath = mcpPath };

        var ex = Assert.Throws<ArgumentException>(() => NorthwindServer.Build(options));

        Assert.Equal(expectedName, ex.ParamName);
        Assert.Contains(expectedName, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_DbAndUrls_SetsBoth()
    {
        Assert.True(CommandLine.TryParse(["--db", "/tmp/x.db", "--urls", "http://127.0.0.1:6000"], out var options, out _));

        Assert.Equal("/tmp/x.db", options.DatabasePath);
        Assert.Equal("http://127.0.0.1:6000", options.Urls);
    }

    [Fact]
    public void TryParse_NoArguments_UsesNorthwindDbInCurrentDirectoryAndDefaultUrl()
    {
        Assert.True(CommandLine.TryParse([], out var options, out _));

        Assert.Equal(Path.Combine(Environment.CurrentDirectory, "northwind.db"), options.DatabasePath);
        Assert.Equal("http://127.0.0.1:5081", options.Urls);
    }

    [Theory]
    [InlineData("--port", "80")]
    [InlineData("--db")]
    public void TryParse_UnknownOrIncompleteArgument_FailsWithUsage(params string[] args)
    {
        Assert.False(CommandLine.TryParse(args, out var options, out var error));

        Assert.Null(options);
        Assert.Contains("usage:", error, StringComparison.Ordinal);
    }
}
