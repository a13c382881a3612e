using System.Collections.Concurrent;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gatehouse.Conformance.Server.Resources;

/// <summary>
/// <c>resources/subscribe</c> and <c>resources/unsubscribe</c> (scenarios <c>resources-subscribe</c> and
/// <c>resources-unsubscribe</c>): remembers which session watches which URI. No scenario changes a resource, so no
/// <c>notifications/resources/updated</c> is ever due.
/// </summary>
internal sealed class ResourceSubscriptions
{
    private readonly ConcurrentDictionary<(string SessionId, string Uri), byte> _subscriptions = new();

    public ValueTask<EmptyResult> SubscribeAsync(RequestContext<SubscribeRequestParams> context, CancellationToken cancellationToken)
    {
        _subscriptions.TryAdd(Key(context.Server, context.Params?.Uri), 0);
        return ValueTask.FromResult(new EmptyResult());
    }

    public ValueTask<EmptyResult> UnsubscribeAsync(RequestContext<UnsubscribeRequestParams> context, CancellationToken cancellationToken)
    {
        _subscriptions.TryRemove(Key(context.Server, context.Params?.Uri), out _);
        return ValueTask.FromResult(new EmptyResult());
    }

    private static (string, string) Key(McpServer server, string? uri)
    {
        if (string.IsNullOrEmpty(uri))
        {
            throw new McpProtocolException("The 'uri' parameter is required.", McpErrorCode.InvalidParams);
        }

        // Stateful HTTP always has a session id; a stateless server could not send updates later anyway.
        var sessionId = server.SessionId
            ?? throw new McpProtocolException("Subscriptions need a session; this server runs stateful.", McpErrorCode.InvalidRequest);
        return (sessionId, uri);
    }
}
