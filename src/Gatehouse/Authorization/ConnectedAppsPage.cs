using System.Globalization;
using System.Text;
using Gatehouse.SignIn;
using Microsoft.AspNetCore.Antiforgery;

namespace Gatehouse.Authorization;

/// <summary>
/// "Connected apps": the OAuth clients a user has allowed, with the MCP servers each may reach, and a button to
/// withdraw each consent, which also revokes every grant the client holds for the user.
/// </summary>
internal static partial class ConnectedAppsPage
{
    public const string Path = "/.gatehouse/apps";
    public const string RevokePath = "/.gatehouse/apps/revoke";

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Path, ShowAsync).WithOrder(-1).ExcludeFromDescription();
        endpoints.MapPost(RevokePath, RevokeAsync).WithOrder(-1).ExcludeFromDescription();
    }

    private static async Task<IResult> ShowAsync(HttpContext context, ISessionUserAccessor sessions, ConsentStore consents, IAntiforgery antiforgery)
    {
        if (await sessions.GetUserAsync(context) is not { } user)
        {
            return TypedResults.Redirect(SignInEndpoints.SignInPath + "?redirect_uri=" + Uri.EscapeDataString(Path));
        }

        var tokens = antiforgery.GetAndStoreTokens(context);
        var list = await consents.ListAsync(user.Subject, context.RequestAborted);
        var rows = new StringBuilder();
        foreach (var consent in list)
        {
            var servers = string.Join("", consent.Resources.Select(r => $"<li><code>{HtmlPage.Encode(r)}</code></li>"));
            rows.Append(CultureInfo.InvariantCulture, $"""
                <li class="app">
                <strong>{HtmlPage.Encode(consent.ClientName)}</strong> <code>{HtmlPage.Encode(consent.ClientId)}</code><br>
                Allowed {consent.GrantedAt:yyyy-MM-dd HH:mm} UTC, last used {consent.LastUsedAt:yyyy-MM-dd HH:mm} UTC
                <ul>{servers}</ul>
                <form method="post" action="{RevokePath}">
                <input type="hidden" name="{HtmlPage.Encode(tokens.FormFieldName)}" value="{HtmlPage.Encode(tokens.RequestToken)}">
                <input type="hidden" name="client_id" value="{HtmlPage.Encode(consent.ClientId)}">
                <button type="submit">Revoke</button>
                </form>
                </li>
                """);
        }

        var body = list.Count == 0
            ? $"<p>{HtmlPage.Encode(user.Email)}: no application can use your MCP servers.</p>"
            : $"<p>Applications that may use MCP servers as <strong>{HtmlPage.Encode(user.Email)}</strong>:</p><ul class=\"apps\">{rows}</ul>";
        return HtmlPage.Render(context, "Connected apps", body, StatusCodes.Status200OK);
    }

    private static async Task<IResult> RevokeAsync(
        HttpContext context, ISessionUserAccessor sessions, ConsentStore consents, IAntiforgery antiforgery, ILogger<ConsentStore> logger)
    {
        try
        {
            await antiforgery.ValidateRequestAsync(context);
        }
        catch (AntiforgeryValidationException)
        {
            return HtmlPage.Render(context, "Connected apps", "<p class=\"error\" role=\"alert\">The form expired; reload the page and try again.</p>", StatusCodes.Status400BadRequest);
        }

        if (await sessions.GetUserAsync(context) is not { } user)
        {
            return TypedResults.Redirect(SignInEndpoints.SignInPath + "?redirect_uri=" + Uri.EscapeDataString(Path));
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var clientId = form["client_id"].ToString();
        if (clientId.Length > 0 && await consents.RevokeAsync(user.Subject, clientId, context.RequestAborted))
        {
            Log.ConsentRevoked(logger, user.Email, clientId);
        }

        // Post/redirect/get: a reload does not post again. Back to the page the form was on (a local path only).
        var back = SignInEndpoints.SafeRedirect(form["return_to"]);
        return TypedResults.Redirect(back == SignInEndpoints.DefaultRedirect ? Path : back);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4103, Level = LogLevel.Information, Message = "User {Email} revoked client {ClientId}; its grants are revoked")]
        public static partial void ConsentRevoked(ILogger logger, string email, string clientId);
    }
}
