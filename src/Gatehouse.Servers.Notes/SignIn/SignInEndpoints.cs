using System.Security.Claims;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Servers.Notes.SignIn;

/// <summary>
/// The sign-in page: a plain form (email, password, antiforgery token) that sets the session cookie and returns
/// to the page that sent the user here, which is only ever a path on this server.
/// </summary>
internal static class SignInEndpoints
{
    public const string Path = "/signin";
    public const string CookieScheme = "Notes.Session";
    public const string AntiforgeryField = "csrf_token";
    private const string ReturnUrlField = "return_url";

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Path, (HttpContext context, IAntiforgery antiforgery) =>
            Form(context, antiforgery, LocalPath(context.Request.Query[ReturnUrlField]), email: null, error: null));
        endpoints.MapPost(Path, SignInAsync);
    }

    /// <summary>The user of the session cookie, if they are still one of the configured users.</summary>
    public static async Task<NotesAccount?> CurrentUserAsync(HttpContext context, UserDirectory users)
    {
        var session = await context.AuthenticateAsync(CookieScheme);
        return users.Find(session.Principal?.FindFirst(Claims.Subject)?.Value);
    }

    /// <summary>Where to send a browser that needs to sign in first.</summary>
    public static string SignInUrl(string returnUrl) => Path + "?" + ReturnUrlField + "=" + Uri.EscapeDataString(returnUrl);

    private static async Task<IResult> SignInAsync(HttpContext context, IAntiforgery antiforgery, UserDirectory users, ILogger<UserDirectory> logger)
    {
        if (!context.Request.HasFormContentType || !await antiforgery.IsRequestValidAsync(context))
        {
            return Pages.Error(context, "The sign-in form expired or was not sent from this site. Go back and try again.");
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var returnUrl = LocalPath(form[ReturnUrlField]);
        var email = form["email"].ToString().Trim();
        if (users.Verify(email, form["password"].ToString()) is not { } user)
        {
            Log.SignInFailed(logger, email);
            return Form(context, antiforgery, returnUrl, email, "Wrong email or password.", StatusCodes.Status401Unauthorized);
        }

        var identity = new ClaimsIdentity(CookieScheme, Claims.Name, Claims.Role);
        identity.AddClaims([new(Claims.Subject, user.Subject), new(Claims.Email, user.Email), new(Claims.Name, user.Name)]);
        await context.SignInAsync(CookieScheme, new ClaimsPrincipal(identity));
        Log.SignedIn(logger, user.Email);
        return TypedResults.Redirect(returnUrl);
    }

    private static ContentHttpResult Form(HttpContext context, IAntiforgery antiforgery, string returnUrl, string? email, string? error, int status = StatusCodes.Status200OK)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var body = $"""
            {(error is null ? "" : $"<p class=\"error\" role=\"alert\">{Pages.Encode(error)}</p>")}
            <form method="post" action="{Path}">
            {Pages.Hidden(tokens.FormFieldName, tokens.RequestToken)}
            {Pages.Hidden(ReturnUrlField, returnUrl)}
            <label>Email <input type="email" name="email" value="{Pages.Encode(email)}" autocomplete="username" required autofocus></label>
            <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
            <button type="submit">Sign in</button>
            </form>
            """;
        return Pages.Render(context, "Sign in to Notes", body, status);
    }

    /// <summary>
    /// <paramref name="returnUrl"/> when it is a path on this server, else <c>/</c>: a link to the sign-in page
    /// must not be able to send the user elsewhere (no open redirect, so no <c>//host</c> or <c>/\host</c>).
    /// </summary>
    internal static string LocalPath(string? returnUrl) =>
        returnUrl is ['/', var second, ..] && second is not '/' and not '\\' && !returnUrl.Any(char.IsControl) ? returnUrl : "/";
}
