using Gatehouse.Authorization;
using Gatehouse.Configuration;
using Gatehouse.Proxy;
using Gatehouse.Revocation;
using Gatehouse.ServiceAccounts;
using Gatehouse.SignIn;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.ResourceServer;

/// <summary>
/// Authenticates every proxied request whose route is not public, and replaces the caller's credential with a
/// signed identity assertion. MCP server routes take bearer tokens only (an access token issued for that very
/// route, or a service-account token) and answer 401 with RFC 9728's <c>resource_metadata</c> when there is none,
/// never a redirect (MCP authorization, "Authorization Server Location"). Other routes take the browser session and
/// send a browser to sign in. Nothing of the caller's credential reaches the upstream.
/// </summary>
internal sealed partial class RouteAuthenticator(
    RequestDelegate next, GatewayState state, AccessTokenValidator tokens, ServiceAccountStore serviceAccounts,
    ISessionUserAccessor sessions, IdentityAssertionSigner assertions, RevocationList revocations, ExternalTokenIssuer externalTokens,
    ILogger<RouteAuthenticator> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        var headers = context.Request.Headers;

        // Nobody but Gatehouse may assert an identity to an upstream: drop any copy a client sent, on every route.
        headers.Remove(GatewayConfig.DefaultJwtAssertionHeader);
        headers.Remove(GatewayConfig.PomeriumJwtAssertionHeader);

        if (context.Features.Get<CompiledRoute>() is not { } route || route.Route.AllowPublicUnauthenticatedAccess)
        {
            await next(context);
            return;
        }

        var config = state.Current.Config;
        if (!revocations.IsCurrent)
        {
            // Fail closed: without a current revocation list a revoked token could pass.
            LogRevocationsStale(logger, route.Route.Id);
            await RefuseUnavailableAsync(context, route);
            return;
        }

        var urls = McpResources.UrlsFor(context.Request, config, route);
        var user = route.IsMcpServer
            ? await AuthenticateBearerAsync(context, route, config, urls)
            : await AuthenticateSessionAsync(context, route);
        if (user is null)
        {
            return;
        }

        context.Features.Set(user);
        if (route.Route.Kind == RouteKind.McpClient)
        {
            // mcp: {client: {}}: the app acts for the signed-in user with a TE, replacing whatever the browser sent.
            headers.Authorization = "Bearer " + externalTokens.Issue(user, context.Request, route);
        }

        headers[config.JwtAssertionHeader] = assertions.GetAssertion(user, issuer: urls.HostName, audience: urls.HostName, routeAudience: urls.ResourceUrl);
        await next(context);
    }

    private async ValueTask<GatewayUser?> AuthenticateBearerAsync(HttpContext context, CompiledRoute route, GatewayConfig config, RequestUrls urls)
    {
        var request = context.Request;
        var authorization = request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || authorization.Length <= 7)
        {
            // RFC 6750 §3.1: a request without credentials gets no error code.
            await ChallengeAsync(context, route, config, error: null, "This MCP server requires authorization: follow resource_metadata in WWW-Authenticate.");
            return null;
        }

        var (user, rejection) = await ValidateBearerAsync(authorization, route.Route.Id, urls);
        if (user is null)
        {
            LogTokenRefused(logger, route.Route.Id, rejection!.Description);
            await ChallengeAsync(context, route, config, "invalid_token", rejection.Description);
            return null;
        }

        // The client's token is for Gatehouse alone (MCP authorization, "Access Token Privilege Restriction").
        request.Headers.Remove(HeaderNames.Authorization);
        return user;
    }

    /// <summary>
    /// The token after <c>Bearer </c>, read as a span of the header value: Kestrel keeps one string per header value
    /// across a connection's requests, and an access token is close to a kilobyte, so it is not copied per request.
    /// Both validators complete synchronously for a token they have seen.
    /// </summary>
    private ValueTask<(GatewayUser? User, TokenRejection? Rejection)> ValidateBearerAsync(string authorization, string routeId, RequestUrls urls)
    {
        var token = authorization.AsSpan(7).Trim();
        return ServiceAccountStore.LooksLikeToken(token)
            ? serviceAccounts.ValidateAsync(token, routeId)
            : tokens.ValidateAsync(token, urls.Issuer, urls.ResourceUrl);
    }

    private async ValueTask<GatewayUser?> AuthenticateSessionAsync(HttpContext context, CompiledRoute route)
    {
        var session = await sessions.GetUserAsync(context);
        if (session is null)
        {
            var request = context.Request;
            if (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            {
                var back = request.Path.Value + request.QueryString.Value;
                context.Response.Redirect(SignInEndpoints.SignInPath + "?redirect_uri=" + Uri.EscapeDataString(back));
                return null;
            }

            await JsonRpcErrors.WriteProblemAsync(context, StatusCodes.Status401Unauthorized, "Unauthorized",
                $"Sign in at {SignInEndpoints.SignInPath} first: {route.Route.Id} requires a signed-in user.");
            return null;
        }

        StripGatewayCookies(context.Request);
        return GatewayUser.FromSession(session);
    }

    /// <summary>The session cookie is a bearer credential for Gatehouse alone: the upstream never sees it.</summary>
    private static void StripGatewayCookies(HttpRequest request)
    {
        var cookie = request.Headers.Cookie.ToString();
        if (!cookie.Contains(SessionStore.CookieName, StringComparison.Ordinal) && !cookie.Contains("gatehouse_csrf", StringComparison.Ordinal))
        {
            return;
        }

        var kept = cookie.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Where(c => !c.StartsWith(SessionStore.CookieName + "=", StringComparison.Ordinal) && !c.StartsWith("gatehouse_csrf=", StringComparison.Ordinal));
        var rebuilt = string.Join("; ", kept);
        if (rebuilt.Length == 0)
        {
            request.Headers.Remove(HeaderNames.Cookie);
        }
        else
        {
            request.Headers.Cookie = rebuilt;
        }
    }

    /// <summary>
    /// 401 with RFC 9728 §5.1's <c>resource_metadata</c> (and RFC 6750 §3's error when a token was sent), and a
    /// JSON-RPC error body since MCP clients read every answer on the endpoint as JSON-RPC. Upstream OAuth uses it too,
    /// with 403 and <c>scope</c> for RFC 6750 §3.1's <c>insufficient_scope</c>.
    /// </summary>
    internal static Task ChallengeAsync(HttpContext context, CompiledRoute route, GatewayConfig config, string? error, string description,
        int status = StatusCodes.Status401Unauthorized, string? scope = null)
    {
        var request = context.Request;
        var metadata = string.Concat(McpResources.PublicScheme(request, config, route.Route), "://", request.Host.Value,
            ProtectedResourceMetadata.WellKnownPath, route.Route.ResourcePath);
        var challenge = error is null
            ? $"Bearer resource_metadata=\"{metadata}\""
            : $"Bearer resource_metadata=\"{metadata}\", error=\"{error}\", error_description=\"{description.Replace("\"", "'", StringComparison.Ordinal)}\"";
        if (scope is not null)
        {
            challenge += $", scope=\"{scope}\"";
        }

        context.Response.Headers.WWWAuthenticate = challenge;
        return JsonRpcErrors.WriteAsync(context, status, status == StatusCodes.Status403Forbidden ? JsonRpcErrors.Forbidden : JsonRpcErrors.Unauthorized, description);
    }

    private static Task RefuseUnavailableAsync(HttpContext context, CompiledRoute route)
    {
        context.Response.Headers.RetryAfter = "5";
        const string Message = "The gateway cannot confirm that credentials are still valid (its storage is unreachable); try again shortly.";
        return route.IsMcpServer
            ? JsonRpcErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, JsonRpcErrors.CredentialCheckUnavailable, Message)
            : JsonRpcErrors.WriteProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "Service Unavailable", Message);
    }

    [LoggerMessage(EventId = 5000, Level = LogLevel.Information, Message = "Refused a token on route {RouteId}: {Reason}")]
    private static partial void LogTokenRefused(ILogger logger, string routeId, string reason);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Error, Message = "Refused a request to route {RouteId}: the revocation list is stale (storage unreachable)")]
    private static partial void LogRevocationsStale(ILogger logger, string routeId);
}
