using System.Collections.Concurrent;
using Gatehouse.Proxy;
using Gatehouse.Upstream;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Chat.Tests.Infrastructure;

/// <summary>
/// Upstream OAuth as the gateway's routes API sees it, for one route: it needs the user's own account and is
/// connected once the user went through connect, whose provider step is instantaneous (the browser goes straight back
/// to the return URL). The real provider flow is the gateway's business (docs/upstream-oauth.md); the chat only
/// sends the browser to connect and shows the state.
/// </summary>
internal sealed class FakeUpstreamConnections(string routeName) : IUpstreamConnections
{
    private readonly ConcurrentDictionary<string, bool> _connected = new(StringComparer.Ordinal);

    public ValueTask<UpstreamStatus> GetStatusAsync(string subject, CompiledRoute route, CancellationToken cancellationToken, bool discover = true) =>
        ValueTask.FromResult(route.Route.Name == routeName ? new UpstreamStatus(true, _connected.ContainsKey(subject), null) : UpstreamStatus.NotNeeded);

    public Task<Uri> BeginConnectAsync(HttpContext context, string subject, CompiledRoute route, string returnUrl, CancellationToken cancellationToken)
    {
        _connected[subject] = true;
        return Task.FromResult(new Uri(returnUrl));
    }

    public Task DisconnectAsync(string subject, CompiledRoute route, CancellationToken cancellationToken)
    {
        _connected.TryRemove(subject, out _);
        return Task.CompletedTask;
    }
}
