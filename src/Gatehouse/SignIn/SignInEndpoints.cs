using System.Text.Encodings.Web;
using Gatehouse.Authorization;
using Gatehouse.Configuration;
using Gatehouse.Proxy;
using Gatehouse.SignIn.Oidc;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;

namespace Gatehouse.SignIn;

/// <summary>
/// The sign-in and sign-out pages: the built-in provider's server-rendered HTML forms that work without JavaScript,
/// protected by ASP.NET Core antiforgery tokens and never framed; with <c>provider: oidc</c> sign-in goes straight
/// to the provider (<see cref="OidcSignIn"/>).
/// </summary>
internal static partial class SignInEndpoints
{
    public const string SignInPath = "/.gatehouse/sign_in";
    public const string SignOutPath = "/.gatehouse/sign_out";

    /// <summary>Where a sign-in ends when no (safe) <c>redirect_uri</c> was given.</summary>
    public const string DefaultRedirect = "/";

    private const string WrongCredentials = "Wrong email or password.";
    private const string LockedOut = "Too many failed sign-in attempts for this account. Try again later.";
    private const string AddressRefused = "Too many failed sign-in attempts from your network. Try again later.";

    private static readonly PasswordHasher<BuiltinUser> s_hasher = new();

    /// <summary>
    /// Unknown emails are verified against this hash so that they take as long as known ones and the response time
    /// does not tell which accounts exist.
    /// </summary>
    private static readonly Lazy<string> s_dummyHash = new(() =>
        s_hasher.HashPassword(null!, Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))));

    /// <summary>Maps the pages; they precede every route (order -1) so that no route's catch-all can shadow them.</summary>
    public static IEndpointRouteBuilder MapPages(IEndpointRouteBuilder endpoints)
    {
        _ = s_dummyHash.Value;
        endpoints.MapGet(SignInPath, ShowSignInAsync).WithOrder(-1);
        endpoints.MapPost(SignInPath, SignInAsync).WithOrder(-1);
        endpoints.MapGet(SignOutPath, ShowSignOut).WithOrder(-1);
        endpoints.MapPost(SignOutPath, SignOutAsync).WithOrder(-1);
        return endpoints;
    }

    /// <summary>The password form, or with <c>provider: oidc</c> straight to the provider.</summary>
    private static Task<IResult> ShowSignInAsync(HttpContext context, IAntiforgery antiforgery, GatewayState state, string? redirect_uri) =>
        state.Current.Config.Idp is { Provider: IdpProvider.Oidc, Oidc: { } oidc }
            ? OidcSignIn.ChallengeAsync(context, oidc, SafeRedirect(redirect_uri))
            : Task.FromResult<IResult>(SignInPage(context, antiforgery, SafeRedirect(redirect_uri), email: "", error: null, StatusCodes.Status200OK));

    private static async Task<IResult> SignInAsync(
        HttpContext context, IAntiforgery antiforgery, GatewayState state, LoginLockoutStore lockouts, AddressSignInLimiter addresses, SessionStore sessions,
        TimeProvider time, ILogger<SessionStore> logger)
    {
        if (state.Current.Config.Idp is { Provider: IdpProvider.Oidc })
        {
            // No passwords here: the provider signs users in.
            return TypedResults.Redirect(SignInPath);
        }

        if (await ReadValidFormAsync(context, antiforgery) is not { } form)
        {
            return BadForm();
        }

        var cancellationToken = context.RequestAborted;
        var redirect = SafeRedirect(form["redirect_uri"]);
        var email = form["email"].ToString().Trim();
        var password = form["password"].ToString();
        if (state.Current.Config.Idp is not { } idp)
        {
            return TypedResults.Problem("Sign-in is not configured.", statusCode: StatusCodes.Status404NotFound);
        }

        if (email.Length is 0 or > 320 || password.Length is 0 or > 1024)
        {
            return SignInPage(context, antiforgery, redirect, email, "Enter your email and password.", StatusCodes.Status400BadRequest);
        }

        // The address first: it is in memory, and a refused address costs no database read and no password hash.
        var address = context.Connection.RemoteIpAddress;
        if (addresses.IsRefused(address, idp.Lockout, out var wait))
        {
            Log.AddressRefusedAttempt(logger);
            RetryAfter.Set(context.Response, wait);
            return SignInPage(context, antiforgery, redirect, email, AddressRefused, StatusCodes.Status429TooManyRequests);
        }

        var key = email.ToLowerInvariant();
        if (await lockouts.LockedUntilAsync(key, cancellationToken) is { } lockedUntil)
        {
            Log.LockedOutAttempt(logger);
            RetryAfter.Set(context.Response, lockedUntil - time.GetUtcNow());
            return SignInPage(context, antiforgery, redirect, email, LockedOut, StatusCodes.Status429TooManyRequests);
        }

        // The hasher compares in constant time; unknown users go through the same work with a dummy hash.
        var user = idp.FindUser(email);
        var verified = s_hasher.VerifyHashedPassword(user!, user?.PasswordHash ?? s_dummyHash.Value, password);
        if (user is null || verified == PasswordVerificationResult.Failed)
        {
            var locked = await lockouts.RecordFailureAsync(key, idp.Lockout, cancellationToken);
            Log.SignInFailed(logger);
            if (addresses.RecordFailure(address, idp.Lockout))
            {
                Log.AddressLimitReached(logger, AddressSignInLimiter.NetworkOf(address), idp.Lockout.MaxFailedAttemptsPerAddress, idp.Lockout.LockoutDuration);
            }

            if (locked)
            {
                Log.AccountLocked(logger, idp.Lockout.LockoutDuration);
                RetryAfter.Set(context.Response, idp.Lockout.LockoutDuration);
                return SignInPage(context, antiforgery, redirect, email, LockedOut, StatusCodes.Status429TooManyRequests);
            }

            return SignInPage(context, antiforgery, redirect, email, WrongCredentials, StatusCodes.Status400BadRequest);
        }

        await lockouts.ResetAsync(key, cancellationToken);
        var (cookieValue, session) = await sessions.CreateAsync(user.Email, user.Name, user.Groups, idp.SessionLifetime, cancellationToken);
        SessionStore.AppendCookie(context.Response, cookieValue, session);
        Log.SignedIn(logger, user.Email);
        return TypedResults.Redirect(redirect);
    }

    private static ContentHttpResult ShowSignOut(HttpContext context, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        return Page(context, "Sign out", $"""
            <form method="post" action="{SignOutPath}">
            <input type="hidden" name="{Encode(tokens.FormFieldName)}" value="{Encode(tokens.RequestToken)}">
            <p>Signing out ends your session in every browser.</p>
            <button type="submit">Sign out</button>
            </form>
            """, StatusCodes.Status200OK);
    }

    private static async Task<IResult> SignOutAsync(
        HttpContext context, IAntiforgery antiforgery, GatewayState state, SessionStore sessions, IdpTokenProtector protector, ILogger<SessionStore> logger)
    {
        if (await ReadValidFormAsync(context, antiforgery) is null)
        {
            return BadForm();
        }

        var signedOut = await sessions.RevokeAllAsync(context.Request.Cookies[SessionStore.CookieName], context.RequestAborted);
        if (signedOut is { } user)
        {
            Log.SignedOut(logger, user.Email);
        }

        context.Response.Cookies.Delete(SessionStore.CookieName, SessionStore.CookieOptions(expires: null));

        // Signed in through an OpenID Connect provider: end the provider's session too, or the next sign-in would pass
        // straight through it without asking for credentials.
        if (state.Current.Config.Idp is { Provider: IdpProvider.Oidc } &&
            signedOut?.ProtectedIdpIdToken is { } protectedIdToken &&
            protector.TryUnprotectIdToken(protectedIdToken) is { } idToken &&
            await OidcSignIn.SignOutAtProviderAsync(context, idToken) is { } toProvider)
        {
            return toProvider;
        }

        return TypedResults.Redirect(SignInPath);
    }

    /// <summary>
    /// Only a path on this host: <c>//evil</c> and <c>/\evil</c> are read by browsers as another host, and absolute
    /// URLs would make this page an open redirector (https://cwe.mitre.org/data/definitions/601.html).
    /// </summary>
    internal static string SafeRedirect(string? value)
    {
        if (string.IsNullOrEmpty(value) || value.Length > 2048 || value[0] != '/' ||
            (value.Length > 1 && value[1] is '/' or '\\') ||
            value.Any(c => c == '\\' || char.IsControl(c)))
        {
            return DefaultRedirect;
        }

        return value;
    }

    private static async Task<IFormCollection?> ReadValidFormAsync(HttpContext context, IAntiforgery antiforgery)
    {
        if (!context.Request.HasFormContentType)
        {
            return null;
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        return await antiforgery.IsRequestValidAsync(context) ? form : null;
    }

    private static ProblemHttpResult BadForm() => TypedResults.Problem(
        "The form is missing its antiforgery token or it has expired. Reload the page and try again.",
        statusCode: StatusCodes.Status400BadRequest, title: "Bad Request");

    private static ContentHttpResult SignInPage(HttpContext context, IAntiforgery antiforgery, string redirect, string email, string? error, int statusCode)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var errorHtml = error is null ? "" : $"""<p class="error" role="alert">{Encode(error)}</p>""";
        return Page(context, "Sign in", $"""
            {errorHtml}
            <form method="post" action="{SignInPath}">
            <input type="hidden" name="{Encode(tokens.FormFieldName)}" value="{Encode(tokens.RequestToken)}">
            <input type="hidden" name="redirect_uri" value="{Encode(redirect)}">
            <label>Email <input type="email" name="email" value="{Encode(email)}" autocomplete="username" required autofocus></label>
            <label>Password <input type="password" name="password" autocomplete="current-password" required></label>
            <button type="submit">Sign in</button>
            </form>
            """, statusCode, AuthorizeEndpoint.FormActionAfterSignIn(redirect));
    }

    private static ContentHttpResult Page(HttpContext context, string title, string body, int statusCode, string formAction = "'self'") =>
        HtmlPage.Render(context, title, body, statusCode, formAction);

    private static string Encode(string? text) => HtmlPage.Encode(text);

    /// <summary>Event ids 4000-4099. Never a password, hash, cookie or session id.</summary>
    private static partial class Log
    {
        [LoggerMessage(EventId = 4000, Level = LogLevel.Information, Message = "User {Email} signed in")]
        public static partial void SignedIn(ILogger logger, string email);

        [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Sign-in failed: wrong email or password")]
        public static partial void SignInFailed(ILogger logger);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "An account was locked out for {Duration} after repeated failed sign-ins")]
        public static partial void AccountLocked(ILogger logger, TimeSpan duration);

        [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Sign-in refused: the account is locked out")]
        public static partial void LockedOutAttempt(ILogger logger);

        [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "User {Email} signed out; every session of the user is revoked")]
        public static partial void SignedOut(ILogger logger, string email);

        [LoggerMessage(EventId = 4005, Level = LogLevel.Warning,
            Message = "{Limit} failed sign-ins from {Network} within {Window}: its sign-ins are refused until that window ends")]
        public static partial void AddressLimitReached(ILogger logger, string network, int limit, TimeSpan window);

        [LoggerMessage(EventId = 4006, Level = LogLevel.Information, Message = "Sign-in refused: too many failed sign-ins from the client's address")]
        public static partial void AddressRefusedAttempt(ILogger logger);
    }
}
