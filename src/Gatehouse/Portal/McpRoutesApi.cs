using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Authorization;
using Gatehouse.Configuration;
using Gatehouse.Proxy;
using Gatehouse.ResourceServer;
using Gatehouse.SignIn;
using Gatehouse.Upstream;

namespace Gatehouse.Portal;

/// <summary>
/// What apps behind Gatehouse (a client route's app with its TE, or a browser with its session) ask about the user's
/// MCP servers, in Pomerium's shapes so that apps written for Pomerium work (REFERENCE.md §1): the listing, connect
/// and disconnect. Served at <c>/.gatehouse/mcp/...</c> and <c>/.pomerium/mcp/...</c> on every host with a route.
/// </summary>
internal static partial class McpRoutesApi
{
    public const string RoutesPath = "/.gatehouse/mcp/routes";
    public const string ConnectPath = "/.gatehouse/mcp/connect";
    public const string DisconnectPath = "/.gatehouse/mcp/routes/disconnect";

    public static IEndpointRouteBuilder MapMcpRoutesApi(this IEndpointRouteBuilder endpoints)
    {
        foreach (var prefix in new[] { "/.gatehouse/mcp", "/.pomerium/mcp" })
        {
            endpoints.MapGet(prefix + "/routes", ListAsync).WithOrder(-1).ExcludeFromDescription();
            endpoints.MapGet(prefix + "/connect", ConnectAsync).WithOrder(-1).ExcludeFromDescription();
            endpoints.MapPost(prefix + "/routes/disconnect", DisconnectAsync).WithOrder(-1).ExcludeFromDescription();
        }

        return endpoints;
    }

    /// <summary>
    /// The caller: a bearer TE (the token a client route's app received), or the browser's session. Null when
    /// neither is valid.
    /// </summary>
    internal static async ValueTask<GatewayUser?> CallerAsync(HttpContext context, GatewaySnapshot snapshot, AccessTokenValidator tokens, ISessionUserAccessor sessions)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var issuer = string.Concat(HostScheme(context.Request, snapshot.Config), "://", context.Request.Host.Value, "/");
            var (user, _) = await tokens.ValidateExternalTokenAsync(authorization.AsSpan(7).Trim(), issuer);
            return user;
        }

        return await sessions.GetUserAsync(context) is { } session
            ? GatewayUser.FromSession(session)
            : null;
    }

    /// <summary>The scheme clients use on this host (the first route answering it decides, as for the issuer).</summary>
    private static string HostScheme(HttpRequest request, GatewayConfig config) =>
        config.Routes.FirstOrDefault(r => McpResources.MatchesHost(r, request.Host)) is { } route
            ? McpResources.PublicScheme(request, config, route)
            : request.Scheme;

    /// <summary>The URL a client on this request's host uses for the route's MCP endpoint (what listings show).</summary>
    internal static string McpUrl(HttpRequest request, GatewayConfig config, GatewayRoute route)
    {
        var resource = McpResources.MatchesHost(route, request.Host)
            ? McpResources.ResourceUrl(request, config, route)
            : route.ResourceUrl(route.From.Scheme, route.From.Authority);
        return route.McpServer?.Path is { Length: > 1 } path ? resource + path : resource;
    }

    /// <summary>The MCP server route a URL (from a listing, or the route's resource URL) names, on any host.</summary>
    internal static CompiledRoute? RouteForUrl(HttpRequest request, GatewaySnapshot snapshot, string url) =>
        snapshot.Routes.Values.FirstOrDefault(r => r.IsMcpServer &&
            (string.Equals(McpUrl(request, snapshot.Config, r.Route), url.TrimEnd('/'), StringComparison.OrdinalIgnoreCase) ||
             string.Equals(McpUrl(request, snapshot.Config, r.Route).TrimEnd('/'), url.TrimEnd('/'), StringComparison.OrdinalIgnoreCase) ||
             (McpResources.MatchesHost(r.Route, request.Host) && string.Equals(McpResources.ResourceUrl(request, snapshot.Config, r.Route), url.TrimEnd('/'), StringComparison.OrdinalIgnoreCase))));

    /// <summary>The user's MCP servers, in configuration order: the ones the user's policy lets them reach.</summary>
    internal static async Task<List<ServerEntry>> ServersAsync(HttpRequest request, GatewaySnapshot snapshot, GatewayUser user, IUpstreamConnections upstream, CancellationToken cancellationToken)
    {
        var servers = new List<ServerEntry>();
        foreach (var route in snapshot.Routes.Values.OrderBy(r => r.Route.Index))
        {
            if (!route.IsMcpServer || !ExternalTokenIssuer.MayReach(route, user))
            {
                continue;
            }

            var status = route.Route.AllowPublicUnauthenticatedAccess ? UpstreamStatus.NotNeeded : await upstream.GetStatusAsync(user.Subject, route, cancellationToken);
            servers.Add(new ServerEntry
            {
                Name = route.Route.Name ?? route.Route.Id,
                Description = Blank(route.Route.Description),
                LogoUrl = Blank(route.Route.LogoUrl),
                Url = McpUrl(request, snapshot.Config, route.Route),
                Connected = status.Connected,
                NeedsOAuth = status.NeedsOAuth,
                TokenExpiresAt = status.TokenExpiresAt?.ToUnixTimeSeconds(),
            });
        }

        return servers;
    }

    private static async Task<IResult> ListAsync(
        HttpContext context, GatewayState state, AccessTokenValidator tokens, ISessionUserAccessor sessions, IUpstreamConnections upstream)
    {
        var snapshot = state.Current;
        if (await CallerAsync(context, snapshot, tokens, sessions) is not { } user)
        {
            return Unauthorized();
        }

        context.Response.Headers.CacheControl = "no-store";
        var servers = await ServersAsync(context.Request, snapshot, user, upstream, context.RequestAborted);
        return TypedResults.Json(new ServerList(servers), McpRoutesJsonContext.Default.ServerList);
    }

    /// <summary>
    /// Sends the browser through the upstream's authorization for one MCP server, then back to <c>redirect_url</c>
    /// (with <c>connect_error</c> when it failed). The redirect must be https (or http on loopback) on this host or a
    /// client route's host: anything else would make the endpoint an open redirector.
    /// </summary>
    private static async Task<IResult> ConnectAsync(
        HttpContext context, GatewayState state, AccessTokenValidator tokens, ISessionUserAccessor sessions, IUpstreamConnections upstream,
        ILogger<ServerList> logger, string? redirect_url, string? server)
    {
        var snapshot = state.Current;
        var problem = redirect_url is null
            ? "redirect_url is required: where to send the browser when the connection is made."
            : CheckRedirect(context.Request, snapshot, redirect_url);
        if (problem is not null)
        {
            return TypedResults.Problem(problem, statusCode: StatusCodes.Status400BadRequest, title: "Bad Request");
        }

        if (await CallerAsync(context, snapshot, tokens, sessions) is not { } user)
        {
            // A browser: sign in, then come back here.
            return TypedResults.Redirect(SignInEndpoints.SignInPath + "?redirect_uri=" + Uri.EscapeDataString(context.Request.Path + context.Request.QueryString));
        }

        var route = server is not null
            ? RouteForUrl(context.Request, snapshot, server)
            : McpResources.RoutesOnHost(snapshot, context.Request.Host).ToList() is [var only] ? snapshot.Routes[only.Id] : null;
        if (route is null || !ExternalTokenIssuer.MayReach(route, user))
        {
            return TypedResults.Redirect(WithError(redirect_url!, server is null
                ? "Name the MCP server to connect with the server parameter."
                : "No MCP server you may use has that URL."));
        }

        try
        {
            var status = await upstream.GetStatusAsync(user.Subject, route, context.RequestAborted);
            if (!status.NeedsOAuth || status.Connected)
            {
                return TypedResults.Redirect(redirect_url!);
            }

            var authorization = await upstream.BeginConnectAsync(context, user.Subject, route, redirect_url!, context.RequestAborted);
            return TypedResults.Redirect(authorization.AbsoluteUri);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogConnectFailed(logger, route.Route.Id, ex.GetType().Name, ex.Message);
            return TypedResults.Redirect(WithError(redirect_url!, $"Cannot connect {route.Route.Name ?? route.Route.Id}: {ex.Message}"));
        }
    }

    private static async Task<IResult> DisconnectAsync(
        HttpContext context, GatewayState state, AccessTokenValidator tokens, ISessionUserAccessor sessions, IUpstreamConnections upstream)
    {
        var snapshot = state.Current;
        var request = context.Request;
        if (await CallerAsync(context, snapshot, tokens, sessions) is not { } user)
        {
            return Unauthorized();
        }

        // With a cookie, only this site's pages or a client route's app may ask (a JSON body already needs a CORS
        // preflight from elsewhere, and this endpoint answers none).
        if (request.Headers.Authorization.Count == 0 && request.Headers.Origin.ToString() is { Length: > 0 } origin && !IsOwnOrigin(request, snapshot, origin))
        {
            return TypedResults.Problem("This origin may not disconnect your MCP servers.", statusCode: StatusCodes.Status403Forbidden, title: "Forbidden");
        }

        if (request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) != true)
        {
            return TypedResults.Problem("Send {\"routes\": [\"<MCP server URL>\", ...]} as application/json.", statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported Media Type");
        }

        DisconnectRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(request.Body, McpRoutesJsonContext.Default.DisconnectRequest, context.RequestAborted);
        }
        catch (JsonException)
        {
            body = null;
        }

        if (body?.Routes is not { Count: > 0 and <= 100 } urls)
        {
            return TypedResults.Problem("Send {\"routes\": [\"<MCP server URL>\", ...]} with 1 to 100 URLs.", statusCode: StatusCodes.Status400BadRequest, title: "Bad Request");
        }

        foreach (var url in urls)
        {
            if (RouteForUrl(request, snapshot, url) is not { } route)
            {
                return TypedResults.Problem($"No MCP server has the URL '{url}'.", statusCode: StatusCodes.Status400BadRequest, title: "Bad Request");
            }

            await upstream.DisconnectAsync(user.Subject, route, context.RequestAborted);
        }

        context.Response.Headers.CacheControl = "no-store";
        return TypedResults.Json(new ServerList(await ServersAsync(request, snapshot, user, upstream, context.RequestAborted)), McpRoutesJsonContext.Default.ServerList);
    }

    /// <summary>Null when <paramref name="url"/> may receive the browser after connecting; else why not.</summary>
    internal static string? CheckRedirect(HttpRequest request, GatewaySnapshot snapshot, string url)
    {
        // On Unix a rooted path parses as an absolute file: URI; it is not an absolute URL here.
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.IsFile || uri.IsUnc || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            return "redirect_url must be an absolute URL without a fragment or credentials.";
        }

        if (uri.Scheme != Uri.UriSchemeHttps && !(uri.Scheme == Uri.UriSchemeHttp && RedirectUriRules.IsLoopbackHost(uri.Host)))
        {
            return "redirect_url must use https (or http on a loopback address).";
        }

        return IsOwnOrigin(request, snapshot, uri.GetLeftPart(UriPartial.Authority))
            ? null
            : "redirect_url must be on this host or the host of one of the gateway's client routes.";
    }

    /// <summary>This host, or the host of an <c>mcp: {client: {}}</c> route.</summary>
    private static bool IsOwnOrigin(HttpRequest request, GatewaySnapshot snapshot, string origin)
    {
        if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri))
        {
            return false;
        }

        var host = new HostString(uri.Authority);
        return string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase) ||
            snapshot.Config.Routes.Any(r => r.Kind == RouteKind.McpClient && McpResources.MatchesHost(r, host));
    }

    private static string WithError(string redirect, string error) =>
        redirect + (redirect.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "connect_error=" + Uri.EscapeDataString(error);

    private static string? Blank(string? text) => string.IsNullOrEmpty(text) ? null : text;

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult Unauthorized() =>
        TypedResults.Problem("Sign in, or send the token (TE) Gatehouse gave your app, as Authorization: Bearer.",
            statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized");

    [LoggerMessage(EventId = 7000, Level = LogLevel.Warning, Message = "Could not start connecting route {RouteId}: {ExceptionType}: {Reason}")]
    private static partial void LogConnectFailed(ILogger logger, string routeId, string exceptionType, string reason);

    internal sealed record ServerList([property: JsonPropertyName("servers")] IReadOnlyList<ServerEntry> Servers);

    /// <summary>One server of the listing, in Pomerium's field names (empty values omitted) plus <c>token_expires_at</c>.</summary>
    internal sealed record ServerEntry
    {
        [JsonPropertyName("name")]
        public required string Name { get; init; }

        [JsonPropertyName("description")]
        public string? Description { get; init; }

        [JsonPropertyName("logo_url")]
        public string? LogoUrl { get; init; }

        [JsonPropertyName("url")]
        public required string Url { get; init; }

        [JsonPropertyName("connected")]
        public bool Connected { get; init; }

        [JsonPropertyName("needs_oauth")]
        public bool NeedsOAuth { get; init; }

        /// <summary>Unix seconds when the upstream token expires (it is refreshed ahead of this).</summary>
        [JsonPropertyName("token_expires_at")]
        public long? TokenExpiresAt { get; init; }
    }

    internal sealed record DisconnectRequest([property: JsonPropertyName("routes")] List<string>? Routes);
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(McpRoutesApi.ServerList))]
[JsonSerializable(typeof(McpRoutesApi.DisconnectRequest))]
internal sealed partial class McpRoutesJsonContext : JsonSerializerContext;
