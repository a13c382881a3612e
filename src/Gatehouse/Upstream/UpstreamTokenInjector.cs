using Gatehouse.Proxy;
using Gatehouse.ResourceServer;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Upstream;

/// <summary>
/// On MCP server routes whose upstream has its own OAuth, sends the user's upstream token (TI) as
/// <c>Authorization: Bearer</c>; RouteAuthenticator already removed the client's token (TE), which never reaches the
/// upstream. A user who is not connected gets 401 with Gatehouse's challenge, so the MCP client re-authorizes and
/// the authorization endpoint takes the user through the upstream's consent; a provider outage gets 502.
/// </summary>
internal sealed class UpstreamTokenInjector(RequestDelegate next, UpstreamConnections connections, GatewayState state)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<CompiledRoute>() is not { IsMcpServer: true } route || context.Features.Get<GatewayUser>() is not { } user ||
            route.Route.AllowPublicUnauthenticatedAccess)
        {
            await next(context);
            return;
        }

        var result = await connections.GetAccessTokenAsync(user.Subject, route.Route, context.RequestAborted);
        switch (result.Outcome)
        {
            case UpstreamTokenOutcome.Token:
                context.Request.Headers[HeaderNames.Authorization] = "Bearer " + result.AccessToken;
                context.Features.Set(UpstreamTokenSent.Instance);
                await next(context);
                break;
            case UpstreamTokenOutcome.NotConnected:
                await RouteAuthenticator.ChallengeAsync(context, route, state.Current.Config, "invalid_token",
                    $"{route.Route.Name ?? route.Route.Id} needs your authorization at its own provider ({result.Reason}): authorize this MCP server again, or connect it on the Gatehouse portal.");
                break;
            case UpstreamTokenOutcome.Unavailable:
                await JsonRpcErrors.WriteAsync(context, StatusCodes.Status502BadGateway, JsonRpcErrors.UpstreamUnavailable,
                    $"The authorization server of {route.Route.Name ?? route.Route.Id} cannot refresh your access now; try again shortly.");
                break;
            default:
                await next(context);
                break;
        }
    }
}

/// <summary>Marks a request that carried a TI, so that an upstream 401 is read as the TI being refused.</summary>
internal sealed class UpstreamTokenSent
{
    public static UpstreamTokenSent Instance { get; } = new();
}
