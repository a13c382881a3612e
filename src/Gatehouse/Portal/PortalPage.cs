using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Authorization;
using Gatehouse.Proxy;
using Gatehouse.ResourceServer;
using Gatehouse.SignIn;
using Gatehouse.Upstream;
using Microsoft.AspNetCore.Antiforgery;

namespace Gatehouse.Portal;

/// <summary>
/// The user's portal at <c>/.gatehouse/routes</c>: a card per MCP server they may use (name, description, logo, the
/// MCP URL to give a client, whether it needs and has an upstream connection, Connect and Disconnect), and the apps
/// they allowed (revocable). Server-rendered, usable without JavaScript; a nonce'd script adds Copy buttons.
/// </summary>
internal static partial class PortalPage
{
    public const string Path = "/.gatehouse/routes";
    public const string DisconnectPath = "/.gatehouse/routes/disconnect";

    private const string Style = """
        body { max-width: 48rem; }
        .card { border: 1px solid #ccc; border-radius: .5rem; padding: 1rem; margin: 0 0 1rem; }
        .card h2 { font-size: 1.1rem; margin: 0 0 .5rem; display: flex; align-items: center; gap: .5rem; }
        .card img { width: 2rem; height: 2rem; object-fit: contain; }
        .status { font-size: .9rem; color: #444; }
        .row { display: flex; gap: .5rem; align-items: center; }
        .row input { margin: 0; }
        form.inline { display: inline; }
        """;

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Path, ShowAsync).WithOrder(-1).ExcludeFromDescription();
        endpoints.MapPost(DisconnectPath, DisconnectAsync).WithOrder(-1).ExcludeFromDescription();
    }

    private static async Task<IResult> ShowAsync(
        HttpContext context, GatewayState state, ISessionUserAccessor sessions, AccessTokenValidator tokens, IUpstreamConnections upstream,
        ConsentStore consents, IAntiforgery antiforgery, string? connect_error)
    {
        var snapshot = state.Current;
        if (await sessions.GetUserAsync(context) is null || await McpRoutesApi.CallerAsync(context, snapshot, tokens, sessions) is not { } user)
        {
            return TypedResults.Redirect(SignInEndpoints.SignInPath + "?redirect_uri=" + Uri.EscapeDataString(Path));
        }

        var servers = await McpRoutesApi.ServersAsync(context.Request, snapshot, user, upstream, context.RequestAborted);
        var apps = await consents.ListAsync(user.Subject, context.RequestAborted);
        var csrf = antiforgery.GetAndStoreTokens(context);
        var nonce = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var self = string.Concat(context.Request.Scheme, "://", context.Request.Host.Value, Path);

        var body = new StringBuilder();
        body.Append(CultureInfo.InvariantCulture, $"<p>Signed in as <strong>{HtmlPage.Encode(user.Email)}</strong>. Give an MCP client the URL of a server to use it as you.</p>");
        if (!string.IsNullOrEmpty(connect_error))
        {
            body.Append(CultureInfo.InvariantCulture, $"<p class=\"error\" role=\"alert\">{HtmlPage.Encode(connect_error)}</p>");
        }

        if (servers.Count == 0)
        {
            body.Append("<p>No MCP server is available to you.</p>");
        }

        foreach (var server in servers)
        {
            var logo = server.LogoUrl is { } url && Uri.TryCreate(url, UriKind.Absolute, out var logoUri) && logoUri.Scheme == Uri.UriSchemeHttps
                ? $"<img src=\"{HtmlPage.Encode(url)}\" alt=\"\">"
                : "";
            var (status, action) = !server.NeedsOAuth
                ? ("Ready: no separate sign-in needed.", "")
                : server.Connected
                    ? ($"Connected{(server.TokenExpiresAt is { } at ? $" (token refreshed before {DateTimeOffset.FromUnixTimeSeconds(at):yyyy-MM-dd HH:mm} UTC)" : "")}.",
                        $"""
                        <form class="inline" method="post" action="{DisconnectPath}">
                        <input type="hidden" name="{HtmlPage.Encode(csrf.FormFieldName)}" value="{HtmlPage.Encode(csrf.RequestToken)}">
                        <input type="hidden" name="server" value="{HtmlPage.Encode(server.Url)}">
                        <button type="submit">Disconnect</button>
                        </form>
                        """)
                    : ("Not connected: this server needs you to sign in to its provider once.",
                        $"<a href=\"{HtmlPage.Encode(McpRoutesApi.ConnectPath + "?server=" + Uri.EscapeDataString(server.Url) + "&redirect_url=" + Uri.EscapeDataString(self))}\">Connect</a>");
            body.Append(CultureInfo.InvariantCulture, $"""
                <div class="card" data-server="{HtmlPage.Encode(server.Name)}">
                <h2>{logo}{HtmlPage.Encode(server.Name)}</h2>
                {(server.Description is { } d ? $"<p>{HtmlPage.Encode(d)}</p>" : "")}
                <div class="row"><input type="text" readonly value="{HtmlPage.Encode(server.Url)}" aria-label="MCP URL of {HtmlPage.Encode(server.Name)}"><button type="button" class="copy" hidden>Copy</button></div>
                <p class="status">{HtmlPage.Encode(status)}</p>
                {action}
                </div>
                """);
        }

        body.Append("<h2>Connected apps</h2>");
        if (apps.Count == 0)
        {
            body.Append("<p>No application can use your MCP servers.</p>");
        }

        foreach (var app in apps)
        {
            body.Append(CultureInfo.InvariantCulture, $"""
                <div class="card">
                <strong>{HtmlPage.Encode(app.ClientName)}</strong> <code>{HtmlPage.Encode(app.ClientId)}</code>
                <p class="status">Allowed {app.GrantedAt:yyyy-MM-dd HH:mm} UTC for {app.Resources.Count} server(s).</p>
                <form method="post" action="{ConnectedAppsPage.RevokePath}">
                <input type="hidden" name="{HtmlPage.Encode(csrf.FormFieldName)}" value="{HtmlPage.Encode(csrf.RequestToken)}">
                <input type="hidden" name="client_id" value="{HtmlPage.Encode(app.ClientId)}">
                <input type="hidden" name="return_to" value="{Path}">
                <button type="submit">Revoke</button>
                </form>
                </div>
                """);
        }

        // Copy buttons need the Clipboard API: shown only when the script runs, so the page works without it.
        body.Append(CultureInfo.InvariantCulture, $$"""
            <script nonce="{{nonce}}">
            for (const button of document.querySelectorAll('button.copy')) {
              button.hidden = false;
              button.addEventListener('click', async () => {
                const input = button.previousElementSibling;
                input.select();
                try { await navigator.clipboard.writeText(input.value); button.textContent = 'Copied'; } catch { button.textContent = 'Select and copy'; }
              });
            }
            </script>
            """);
        return HtmlPage.Render(context, "Your MCP servers", body.ToString(), StatusCodes.Status200OK,
            extraDirectives: $"img-src https: data:; script-src 'nonce-{nonce}'", extraStyle: Style);
    }

    private static async Task<IResult> DisconnectAsync(
        HttpContext context, GatewayState state, ISessionUserAccessor sessions, AccessTokenValidator tokens, IUpstreamConnections upstream,
        IAntiforgery antiforgery, ILogger<ConsentStore> logger)
    {
        try
        {
            await antiforgery.ValidateRequestAsync(context);
        }
        catch (AntiforgeryValidationException)
        {
            return HtmlPage.Render(context, "Your MCP servers", "<p class=\"error\" role=\"alert\">The form expired; reload the page and try again.</p>", StatusCodes.Status400BadRequest);
        }

        var snapshot = state.Current;
        if (await McpRoutesApi.CallerAsync(context, snapshot, tokens, sessions) is not { } user)
        {
            return TypedResults.Redirect(SignInEndpoints.SignInPath + "?redirect_uri=" + Uri.EscapeDataString(Path));
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        if (McpRoutesApi.RouteForUrl(context.Request, snapshot, form["server"].ToString()) is { } route)
        {
            await upstream.DisconnectAsync(user.Subject, route, context.RequestAborted);
            LogDisconnected(logger, user.Email, route.Route.Id);
        }

        return TypedResults.Redirect(Path);
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "User {Email} disconnected route {RouteId} from its upstream")]
    private static partial void LogDisconnected(ILogger logger, string email, string routeId);
}
