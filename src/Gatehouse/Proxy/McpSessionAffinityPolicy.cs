using Microsoft.Extensions.Caching.Memory;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.SessionAffinity;

namespace Gatehouse.Proxy;

/// <summary>
/// Keeps an MCP session on the upstream that created it when a route balances across several (`to:` is a list).
/// The server issues <c>Mcp-Session-Id</c> in its answer to <c>initialize</c> (MCP Streamable HTTP, "Session
/// Management"), so affinity cannot be computed from the first request (it has no id yet); it is learned from the
/// response and looked up on every later request. The map lives in this process: see docs/adr/0002.
/// </summary>
internal sealed class McpSessionAffinityPolicy : ISessionAffinityPolicy, IDisposable
{
    public const string PolicyName = "McpSessionId";
    private const string SessionHeader = "Mcp-Session-Id";

    private static readonly MemoryCacheEntryOptions s_entryOptions = new()
    {
        SlidingExpiration = TimeSpan.FromHours(2),
        Size = 1,
    };

    private readonly MemoryCache _sessions = new(new MemoryCacheOptions { SizeLimit = 1_000_000 });

    public string Name => PolicyName;

    public AffinityResult FindAffinitizedDestinations(HttpContext context, ClusterState cluster, SessionAffinityConfig config, IReadOnlyList<DestinationState> destinations)
    {
        var sessionId = context.Request.Headers[SessionHeader].ToString();
        if (sessionId.Length == 0)
        {
            return new AffinityResult(null, AffinityStatus.AffinityKeyNotSet);
        }

        if (!_sessions.TryGetValue(Key(cluster.ClusterId, sessionId), out string? destinationId))
        {
            return new AffinityResult(null, AffinityStatus.DestinationNotFound);
        }

        foreach (var destination in destinations)
        {
            if (destination.DestinationId == destinationId)
            {
                return new AffinityResult(destination, AffinityStatus.OK);
            }
        }

        return new AffinityResult(null, AffinityStatus.DestinationNotFound);
    }

    public void AffinitizeResponse(HttpContext context, ClusterState cluster, SessionAffinityConfig config, DestinationState destination)
    {
        var sessionId = context.Response.Headers[SessionHeader].ToString();
        if (sessionId.Length > 0)
        {
            _sessions.Set(Key(cluster.ClusterId, sessionId), destination.DestinationId, s_entryOptions);
        }
    }

    public void Dispose() => _sessions.Dispose();

    private static string Key(string clusterId, string sessionId) => string.Concat(clusterId, "\n", sessionId);
}
