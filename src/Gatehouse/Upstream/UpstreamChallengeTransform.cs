using Gatehouse.Proxy;
using Gatehouse.ResourceServer;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Gatehouse.Upstream;

/// <summary>
/// Reads an MCP server's 401 and 403 <c>insufficient_scope</c> (RFC 6750 §3.1) before they reach the client: the
/// upstream's challenge is about the TI, which the client never sees, so Gatehouse answers with its own challenge
/// instead. A 401 without a TI teaches Gatehouse that the route needs upstream OAuth (discovery); a 403 asking for a
/// wider scope is remembered so that the next connect asks for it.
/// </summary>
internal sealed partial class UpstreamChallengeTransform(
    UpstreamConnections connections, UpstreamDiscovery discovery, GatewayState state, ILogger<UpstreamChallengeTransform> logger) : ITransformProvider
{
    public void ValidateRoute(TransformRouteValidationContext context)
    {
    }

    public void ValidateCluster(TransformClusterValidationContext context)
    {
    }

    public void Apply(TransformBuilderContext context) => context.AddResponseTransform(TransformAsync);

    private async ValueTask TransformAsync(ResponseTransformContext context)
    {
        var status = context.ProxyResponse?.StatusCode;
        var http = context.HttpContext;
        if (status is not (System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden) ||
            http.Features.Get<CompiledRoute>() is not { IsMcpServer: true } route || http.Features.Get<GatewayUser>() is not { } user ||
            route.Route.AllowPublicUnauthenticatedAccess)
        {
            return;
        }

        var challenge = BearerChallenge.From(context.ProxyResponse!.Headers);
        var config = state.Current.Config;
        var sent = http.Features.Get<UpstreamTokenSent>() is not null;
        var name = route.Route.Name ?? route.Route.Id;
        if (status == System.Net.HttpStatusCode.Forbidden)
        {
            if (challenge?.Error != "insufficient_scope" || !sent)
            {
                return;
            }

            // RFC 6750 §3.1: the upstream wants a wider scope; only the user can grant it, at the upstream.
            await connections.MarkRefusedAsync(user.Subject, route.Route.Id, challenge.Scopes, context.CancellationToken);
            LogStepUp(logger, route.Route.Id);
            await ReplaceAsync(context, () => RouteAuthenticator.ChallengeAsync(http, route, config, "insufficient_scope",
                $"{name} needs more access at its own provider: authorize this MCP server again to grant it.", StatusCodes.Status403Forbidden));
            return;
        }

        if (sent)
        {
            await connections.MarkRefusedAsync(user.Subject, route.Route.Id, challenge?.Error == "insufficient_scope" ? challenge.Scopes : null, context.CancellationToken);
            LogTokenRefused(logger, route.Route.Id);
        }
        else if (challenge is not null)
        {
            // Automatic discovery (no upstream_oauth2): the upstream asks for OAuth. Learn its authorization server
            // now so that the client's re-authorization can take the user through it.
            try
            {
                await discovery.DiscoverAsync(route.Route, OutboundPolicy.For(route.Route, config), challenge, context.CancellationToken);
            }
            catch (UpstreamOAuthException ex)
            {
                // Pomerium issue #6785: do not turn this into a bare 502; say what is wrong.
                LogDiscoveryFailed(logger, route.Route.Id, ex.Message);
                await ReplaceAsync(context, () => JsonRpcErrors.WriteAsync(http, StatusCodes.Status502BadGateway, JsonRpcErrors.UpstreamUnavailable,
                    $"{name} asks for its own OAuth authorization, and Gatehouse cannot use it: {ex.Message}."));
                return;
            }
        }
        else
        {
            return;
        }

        await ReplaceAsync(context, () => RouteAuthenticator.ChallengeAsync(http, route, config, "invalid_token",
            $"{name} needs your authorization at its own provider: authorize this MCP server again, or connect it on the Gatehouse portal."));
    }

    /// <summary>Drops the upstream's headers and body and writes Gatehouse's answer instead.</summary>
    private static async Task ReplaceAsync(ResponseTransformContext context, Func<Task> write)
    {
        context.SuppressResponseBody = true;

        // The answer is Gatehouse's now: nothing of the upstream's is left to inspect or filter.
        context.HttpContext.Features.Set<Mcp.McpResponseWatch>(null);
        var response = context.HttpContext.Response;
        response.Headers.Clear();
        response.ContentLength = null;
        await write();
    }

    [LoggerMessage(EventId = 7120, Level = LogLevel.Information, Message = "The MCP server of route {RouteId} refused the user's upstream token; the user must connect again")]
    private static partial void LogTokenRefused(ILogger logger, string routeId);

    [LoggerMessage(EventId = 7121, Level = LogLevel.Information, Message = "The MCP server of route {RouteId} asked for a wider scope (insufficient_scope)")]
    private static partial void LogStepUp(ILogger logger, string routeId);

    [LoggerMessage(EventId = 7122, Level = LogLevel.Warning, Message = "Upstream OAuth discovery failed for route {RouteId}: {Reason}")]
    private static partial void LogDiscoveryFailed(ILogger logger, string routeId, string reason);
}
