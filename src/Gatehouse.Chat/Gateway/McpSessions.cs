using System.Collections.Concurrent;
using Gatehouse.Chat.Identity;
using ModelContextProtocol.Client;

namespace Gatehouse.Chat.Gateway;

/// <summary>
/// The circuit's MCP client sessions, one per server, opened through the gateway with the user's TE as bearer token
/// (MCP Streamable HTTP transport; the gateway checks the TE's audience, applies the route's policy and audits every
/// message). Scoped to the Blazor circuit and closed with it.
/// </summary>
internal sealed class McpSessions(IHttpClientFactory httpClients, ILoggerFactory loggers) : IAsyncDisposable
{
    public const string HttpClientName = "mcp";

    private readonly ConcurrentDictionary<string, Lazy<Task<McpClient>>> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<IList<McpClientTool>>>> _tools = new(StringComparer.Ordinal);

    public Task<McpClient> GetAsync(McpServerEntry server, ChatUser user, CancellationToken cancellationToken) =>
        _clients.GetOrAdd(server.Url, url => new Lazy<Task<McpClient>>(() => ConnectAsync(url, user, cancellationToken))).Value;

    /// <summary>The server's tools (McpClientTool is an AIFunction: the LLM calls them through the same session).</summary>
    public Task<IList<McpClientTool>> ToolsAsync(McpServerEntry server, ChatUser user, CancellationToken cancellationToken) =>
        _tools.GetOrAdd(server.Url, _ => new Lazy<Task<IList<McpClientTool>>>(async () =>
        {
            var client = await GetAsync(server, user, cancellationToken);
            return await client.ListToolsAsync(cancellationToken: cancellationToken);
        })).Value;

    /// <summary>Forgets a server whose session failed, so that the next use opens a new one.</summary>
    public async Task ResetAsync(McpServerEntry server)
    {
        _tools.TryRemove(server.Url, out _);
        if (_clients.TryRemove(server.Url, out var client) && client.IsValueCreated && client.Value.IsCompletedSuccessfully)
        {
            await client.Value.Result.DisposeAsync();
        }
    }

    private async Task<McpClient> ConnectAsync(string url, ChatUser user, CancellationToken cancellationToken)
    {
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions
            {
                Endpoint = new Uri(url),
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = "Bearer " + user.Te },
            },
            httpClients.CreateClient(HttpClientName), loggers, ownsHttpClient: true);
        try
        {
            return await McpClient.CreateAsync(transport, new McpClientOptions
            {
                ClientInfo = new() { Name = "gatehouse-chat", Version = typeof(McpSessions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0" },
            }, loggers, cancellationToken);
        }
        catch (HttpRequestException ex) when (ex.StatusCode == System.Net.HttpStatusCode.Unauthorized)
        {
            _clients.TryRemove(url, out _);
            throw new TeRejectedException();
        }
        catch
        {
            _clients.TryRemove(url, out _);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients.Values)
        {
            if (client.IsValueCreated && client.Value.IsCompletedSuccessfully)
            {
                await client.Value.Result.DisposeAsync();
            }
        }

        _clients.Clear();
    }
}
