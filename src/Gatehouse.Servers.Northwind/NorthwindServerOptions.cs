namespace Gatehouse.Servers.Northwind;

/// <summary>Where the Northwind MCP server keeps its database and where it listens.</summary>
public sealed class NorthwindServerOptions
{
    internal const string DefaultUrls = "http://127.0.0.1:5081";

    /// <summary>The SQLite file to serve; generated there on first start if it does not exist.</summary>
    public required string DatabasePath { get; init; }

    /// <summary>
    /// Addresses to listen on, separated by ';'. Only these are bound; use port 0 to let the OS pick a free port
    /// and read the bound address from <c>WebApplication.Urls</c> after start.
    /// </summary>
    public string Urls { get; init; } = DefaultUrls;

    /// <summary>The path of the Streamable HTTP endpoint; the legacy SSE endpoints live under it.</summary>
    public string McpPath { get; init; } = "/mcp";

    /// <summary>Fails fast with a message that names the setting and the fix.</summary>
    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(DatabasePath))
        {
            throw new ArgumentException(
                $"{nameof(DatabasePath)} is empty. Set it to the SQLite file to serve, e.g. \"northwind.db\".", nameof(DatabasePath));
        }

        if (string.IsNullOrWhiteSpace(Urls))
        {
            throw new ArgumentException(
                $"{nameof(Urls)} is empty. Set it to the address to listen on, e.g. \"http://127.0.0.1:5081\".", nameof(Urls));
        }

        foreach (var url in Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
            {
                throw new ArgumentException(
                    $"{nameof(Urls)} has '{url}', which is not an absolute http:// URL. Use e.g. \"http://127.0.0.1:0\".", nameof(Urls));
            }
        }

        if (!McpPath.StartsWith('/'))
        {
            throw new ArgumentException($"{nameof(McpPath)} '{McpPath}' must start with '/', e.g. \"/mcp\".", nameof(McpPath));
        }
    }
}
