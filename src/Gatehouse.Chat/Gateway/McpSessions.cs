using System.Collections.Concurrent;
using Gatehouse.Chat.Identity;
using ModelContextProtocol.Client;

namespace Gatehouse.Chat.Gateway;

/// <summary>
/// The circuit's MCP client sessions, one per server, opened through the gateway with the user's TE as bearer token
/// (MCP Streamable HTTP transport; the gateway checks the TE's audience, applies the route's policy and audits every
/// message). Scoped to the Blazor circuit and closed with it.
/// </summary>
internal sealed class McpSessions(IHttpMessageHandlerFactory handlers, CircuitUser circuit, ILoggerFactory loggers) : IAsyncDisposable
{
    public const string HttpClientName = "mcp";

    // One client for the circuit's sessions; the handler chain is the factory's pooled one.
    private readonly HttpClient _http = new(new BearerTe(circuit) { InnerHandler = handlers.CreateHandler(HttpClientName) }, disposeHandler: false)
    {
        // MCP calls can stream for a long time (a tool that reports progress); the SDK times requests itself.
        Timeout = Timeout.InfiniteTimeSpan,
    };

    private readonly ConcurrentDictionary<string, Lazy<Task<McpClient>>> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Lazy<Task<IList<McpClientTool>>>> _tools = new(StringComparer.Ordinal);

    public Task<McpClient> GetAsync(McpServerEntry server, CancellationToken cancellationToken) =>
        _clients.GetOrAdd(server.Url, url => new Lazy<Task<McpClient>>(() => ConnectAsync(url, cancellationToken))).Value;

    /// <summary>The server's tools (McpClientTool is an AIFunction: the LLM calls them through the same session).</summary>
    public Task<IList<McpClientTool>> ToolsAsync(McpServerEntry server, CancellationToken cancellationToken) =>
        _tools.GetOrAdd(server.Url, url => new Lazy<Task<IList<McpClientTool>>>(async () =>
        {
            try
            {
                var client = await GetAsync(server, cancellationToken);
                return await client.ListToolsAsync(cancellationToken: cancellationToken);
            }
            catch
            {
                // A failed listing is not cached: the next use tries again.
                _tools.TryRemove(url, out _);
                throw;
            }
        })).Value;

    /// <summary>Forgets every session (after a failure whose server is unknown): the next use opens new ones.</summary>
    public async Task ResetAllAsync()
    {
        foreach (var url in _clients.Keys.ToList())
        {
            await ResetAsync(url);
        }
    }

    /// <summary>Forgets a server whose session failed, so that the next use opens a new one.</summary>
    public Task ResetAsync(McpServerEntry server) => ResetAsync(server.Url);

    private async Task ResetAsync(string url)
    {
        _tools.TryRemove(url, out _);
        if (_clients.TryRemove(url, out var client) && client.IsValueCreated && client.Value.IsCompletedSuccessfully)
        {
            await client.Value.Result.DisposeAsync();
        }
    }

    private async Task<McpClient> ConnectAsync(string url, CancellationToken cancellationToken)
    {
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions
            {
                Endpoint = new Uri(url),
                TransportMode = HttpTransportMode.StreamableHttp,
            },
            _http, loggers, ownsHttpClient: false);
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
        _http.Dispose();
    }

    /// <summary>
    /// The circuit's current TE on every request (RFC 6750 §2.1), read when the request is sent: the circuit's TE
    /// is replaced as the page refreshes it, while a session lasts as long as the page.
    /// </summary>
    private sealed class BearerTe(CircuitUser circuit) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", circuit.User.Te);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
