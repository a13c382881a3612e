using System.Security.Claims;
using System.Text;
using Gatehouse.Proxy;
using Gatehouse.ResourceServer;
using Gatehouse.SignIn;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Authorization;

/// <summary>
/// The authorization endpoint, after OpenIddict has validated the request (client, redirect URI, PKCE S256,
/// resources): signs the user in if needed, asks for consent the first time a user meets a client, and issues the
/// code. OAuth 2.1 §4.1, MCP authorization ("Authorization Flow Steps").
/// </summary>
internal static partial class AuthorizeEndpoint
{
    /// <summary>Form fields of the consent page that are not authorization request parameters.</summary>
    private const string DecisionField = "gatehouse_consent";

    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapMethods(AuthorizationServerExtensions.AuthorizePath, [HttpMethods.Get, HttpMethods.Post], HandleAsync)
            .WithOrder(-1)
            .ExcludeFromDescription();

    private static async Task<IResult> HandleAsync(
        HttpContext context, GatewayState state, ISessionUserAccessor sessions, SessionStore sessionStore, ConsentStore consents,
        IOpenIddictApplicationManager applications, IAntiforgery antiforgery, TimeProvider time, Upstream.IUpstreamConnections upstream,
        ILogger<ConsentStore> logger)
    {
        // Errors OpenIddict could not send back to a verified redirect URI (unknown client, unregistered redirect
        // URI, missing PKCE) end here, shown to the user: redirecting them would make this an open redirector.
        if (context.GetOpenIddictServerResponse() is { Error: { } error } response)
        {
            return ErrorPage(context, error, response.ErrorDescription);
        }

        var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenIddict request.");
        if (context.Features.Get<OpenIddictServerAspNetCoreFeature>()?.Transaction?.Properties
                .TryGetValue(ResourceIndicatorHandlers.InvalidTargetProperty, out var invalidTarget) == true)
        {
            return OAuthResults.Refuse(Errors.InvalidTarget, (string)invalidTarget!);
        }

        var config = state.Current.Config;
        var user = await sessions.GetUserAsync(context);
        if (user is null)
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return OAuthResults.Refuse(Errors.LoginRequired, "The user is not signed in.");
            }

            if (config.Idp is null)
            {
                return ErrorPage(context, Errors.AccessDenied, "Sign-in is not configured on this gateway (no `idp`), so no user can authorize a client.");
            }

            // Back to this very request after sign-in, as a GET with the same parameters.
            return TypedResults.Redirect(SignInEndpoints.SignInPath + "?redirect_uri=" + Uri.EscapeDataString(AuthorizeUrl(request)));
        }

        var application = await applications.FindByClientIdAsync(request.ClientId!, context.RequestAborted)
            ?? throw new InvalidOperationException("OpenIddict validated a client that does not exist.");
        var clientName = await applications.GetDisplayNameAsync(application, context.RequestAborted) ?? request.ClientId!;
        var resources = request.GetResources().ToList();

        if (HttpMethods.IsPost(context.Request.Method) && context.Request.HasFormContentType)
        {
            // The consent form (below): CSRF-checked, so another site cannot approve a client in the user's name.
            if (!await IsValidFormAsync(context, antiforgery))
            {
                return ErrorPage(context, Errors.InvalidRequest, "The consent form expired or was not sent by this page. Go back to your app and start again.", StatusCodes.Status400BadRequest);
            }

            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            if (form[DecisionField] != "allow")
            {
                Log.ConsentDenied(logger, user.Email, request.ClientId!);
                return OAuthResults.Refuse(Errors.AccessDenied, "The user did not allow this application.");
            }

            await consents.GrantAsync(user.Subject, request.ClientId!, clientName, resources, context.RequestAborted);
            Log.ConsentGranted(logger, user.Email, request.ClientId!);
        }
        else if (request.HasPromptValue(PromptValues.Consent) || !await consents.CoversAsync(user.Subject, request.ClientId!, resources, context.RequestAborted))
        {
            if (request.HasPromptValue(PromptValues.None))
            {
                return OAuthResults.Refuse(Errors.ConsentRequired, "The user has not allowed this application yet.");
            }

            return ConsentPage(context, antiforgery, state.Current, request, user, clientName, resources);
        }

        if (await ConnectUpstreamFirstAsync(context, state.Current, request, user, resources, upstream) is { } detour)
        {
            return detour;
        }

        var scopes = request.GetScopes().Intersect(AuthorizationServerExtensions.SupportedScopes, StringComparer.Ordinal)
            .Append(Scopes.OfflineAccess).Distinct(StringComparer.Ordinal).ToList();
        var principal = CreatePrincipal(user, scopes, resources);
        if (config.Idp is { Provider: Configuration.IdpProvider.Oidc })
        {
            // The client's grant outlives the browser session: keep asking the provider about the user while it lasts,
            // so the grant ends when the provider stops vouching for the user (IdpSessionRefresher).
            await sessionStore.ExtendIdpCheckAsync(user.SessionId, time.GetUtcNow() + config.AuthorizationServer.RefreshTokenLifetime, context.RequestAborted);
        }

        Log.CodeIssued(logger, user.Email, request.ClientId!, resources);
        return TypedResults.SignIn(principal, properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// Seed 001 steps 4-6: when a requested MCP server has its own OAuth and the user has not connected it, the browser
    /// goes through the upstream's consent first and comes back to this very request, which then issues the code. A
    /// failed connection (the callback adds <c>connect_error</c>) ends the request with <c>access_denied</c> rather
    /// than sending the user round again.
    /// </summary>
    private static async Task<IResult?> ConnectUpstreamFirstAsync(
        HttpContext context, GatewaySnapshot snapshot, OpenIddictRequest request, SessionUser user, List<string> resources, Upstream.IUpstreamConnections upstream)
    {
        foreach (var resource in resources)
        {
            var route = McpResources.RoutesOnHost(snapshot, context.Request.Host)
                .FirstOrDefault(r => McpResources.ResourceUrl(context.Request, snapshot.Config, r) == resource);
            if (route is null || !snapshot.Routes.TryGetValue(route.Id, out var compiled))
            {
                continue;
            }

            // Configured, already seen, or found now from the upstream's RFC 9728 metadata (GETs of its well-known
            // documents, never an MCP request; a negative answer is cached), so even a client's first authorization for
            // a server this replica has not yet talked to chains the upstream's consent (seed 001 steps 3-5).
            var status = await upstream.GetStatusAsync(user.Subject, compiled, context.RequestAborted, discover: true);
            if (!status.NeedsOAuth || status.Connected)
            {
                continue;
            }

            if (request.GetParameter("connect_error") is { } connectError)
            {
                return OAuthResults.Refuse(Errors.AccessDenied, $"Connecting {route.Name ?? route.Id} at its own authorization server failed ({connectError}).");
            }

            if (request.HasPromptValue(PromptValues.None))
            {
                return OAuthResults.Refuse(Errors.InteractionRequired, $"{route.Name ?? route.Id} must be connected at its own authorization server first.");
            }

            try
            {
                return TypedResults.Redirect((await upstream.BeginConnectAsync(context, user.Subject, compiled, AuthorizeUrl(request), context.RequestAborted)).AbsoluteUri);
            }
            catch (Upstream.UpstreamOAuthException ex)
            {
                return OAuthResults.Refuse(Errors.TemporarilyUnavailable, $"{route.Name ?? route.Id} cannot be connected at its own authorization server: {ex.Message}.");
            }
        }

        return null;
    }

    /// <summary>
    /// The grant's identity. Every claim goes into the access token (the gateway builds the identity assertion from
    /// it); the ID token carries email and name only when their scopes were granted (OpenID Connect Core §5.4).
    /// </summary>
    internal static ClaimsPrincipal CreatePrincipal(SessionUser user, IEnumerable<string> scopes, IEnumerable<string> resources)
    {
        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, user.Subject)
            .SetClaim(Claims.Email, user.Email)
            .SetClaim(Claims.Name, user.Name)
            // One claim per group: OpenIddict 7 refuses an array as a claim value ("not a supported JSON node"). A JWT
            // then holds several groups as an array and one as a string; every reader takes both (FindAll, GetClaims),
            // and the identity assertion sent upstream always has an array.
            .SetClaims(GatehouseClaims.Groups, [.. user.Groups])
            .SetClaim(GatehouseClaims.SessionId, user.SessionId);
        identity.SetScopes(scopes);
        identity.SetResources(resources);
        identity.SetDestinations(claim => Destinations(claim, identity));
        return new ClaimsPrincipal(identity);
    }

    internal static IEnumerable<string> Destinations(Claim claim, ClaimsIdentity identity) => claim.Type switch
    {
        Claims.Email when identity.HasScope(Scopes.Email) => [OpenIddict.Abstractions.OpenIddictConstants.Destinations.AccessToken, OpenIddict.Abstractions.OpenIddictConstants.Destinations.IdentityToken],
        Claims.Name when identity.HasScope(Scopes.Profile) => [OpenIddict.Abstractions.OpenIddictConstants.Destinations.AccessToken, OpenIddict.Abstractions.OpenIddictConstants.Destinations.IdentityToken],
        _ => [OpenIddict.Abstractions.OpenIddictConstants.Destinations.AccessToken],
    };

    /// <summary>This request as a local GET URL, to come back to after sign-in.</summary>
    private static string AuthorizeUrl(OpenIddictRequest request)
    {
        var query = new StringBuilder();
        foreach (var (name, value) in Parameters(request))
        {
            query.Append(query.Length == 0 ? '?' : '&').Append(Uri.EscapeDataString(name)).Append('=').Append(Uri.EscapeDataString(value));
        }

        return AuthorizationServerExtensions.AuthorizePath + query;
    }

    /// <summary>The authorization request's parameters, one pair per value, without the consent form's own fields.</summary>
    private static IEnumerable<(string Name, string Value)> Parameters(OpenIddictRequest request)
    {
        foreach (var (name, parameter) in request.GetParameters())
        {
            if (name is DecisionField or AntiforgeryFieldName)
            {
                continue;
            }

            var values = (System.Collections.Immutable.ImmutableArray<string?>?)parameter ?? [];
            foreach (var value in values)
            {
                if (value is not null)
                {
                    yield return (name, value);
                }
            }
        }
    }

    private const string AntiforgeryFieldName = "csrf_token";

    private static ContentHttpResult ConsentPage(
        HttpContext context, IAntiforgery antiforgery, GatewaySnapshot snapshot, OpenIddictRequest request, SessionUser user, string clientName, List<string> resources)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var redirect = new Uri(request.RedirectUri!);
        var redirectHost = redirect.IsAbsoluteUri && redirect.Host.Length > 0 ? redirect.Authority : redirect.Scheme + ":";
        var isUrlClient = Uri.TryCreate(request.ClientId, UriKind.Absolute, out var clientUrl) && clientUrl.Scheme == Uri.UriSchemeHttps;

        var servers = new StringBuilder();
        foreach (var resource in resources)
        {
            var route = McpResources.RoutesOnHost(snapshot, context.Request.Host).FirstOrDefault(r => McpResources.ResourceUrl(context.Request, snapshot.Config, r) == resource);
            var title = route?.Name ?? resource;
            var description = route?.Description is { Length: > 0 } d ? " — " + HtmlPage.Encode(d) : "";
            servers.Append(System.Globalization.CultureInfo.InvariantCulture, $"<li><strong>{HtmlPage.Encode(title)}</strong>{description}<br><code>{HtmlPage.Encode(resource)}</code></li>");
        }

        var hidden = new StringBuilder();
        foreach (var (name, value) in Parameters(request))
        {
            hidden.Append(System.Globalization.CultureInfo.InvariantCulture, $"""<input type="hidden" name="{HtmlPage.Encode(name)}" value="{HtmlPage.Encode(value)}">""").Append('\n');
        }

        var loopbackWarning = RedirectUriRules.IsLoopbackHost(redirect.Host)
            ? "<p class=\"warning\">This application runs on your own computer (it receives the answer on a local address). Allow it only if you just started it yourself.</p>"
            : "";
        var clientIdentity = isUrlClient
            ? $"<p>It identifies itself as <code>{HtmlPage.Encode(request.ClientId)}</code>.</p>"
            : "";
        var body = $"""
            <p><strong>{HtmlPage.Encode(clientName)}</strong> wants to use these MCP servers as you, <strong>{HtmlPage.Encode(user.Email)}</strong>:</p>
            <ul>{servers}</ul>
            {clientIdentity}
            <p>After you decide, you will be sent to <strong>{HtmlPage.Encode(redirectHost)}</strong>.</p>
            {loopbackWarning}
            <form method="post" action="{AuthorizationServerExtensions.AuthorizePath}">
            <input type="hidden" name="{HtmlPage.Encode(tokens.FormFieldName)}" value="{HtmlPage.Encode(tokens.RequestToken)}">
            {hidden}
            <button type="submit" name="{DecisionField}" value="allow">Allow</button>
            <button type="submit" name="{DecisionField}" value="deny">Deny</button>
            </form>
            <p class="note">You can withdraw this later under <a href="{ConnectedAppsPage.Path}">Connected apps</a>.</p>
            """;
        return HtmlPage.Render(context, "Allow access?", body, StatusCodes.Status200OK, FormActionFor(request.RedirectUri!));
    }

    /// <summary>
    /// CSP <c>form-action</c> is enforced on the redirects that follow a form post, so the consent form must be
    /// allowed to end at the client's redirect URI.
    /// </summary>
    internal static string FormActionFor(string redirectUri)
    {
        if (!Uri.TryCreate(redirectUri, UriKind.Absolute, out var uri))
        {
            return "'self'";
        }

        return uri.Scheme is "http" or "https" ? $"'self' {uri.GetLeftPart(UriPartial.Authority)}" : $"'self' {uri.Scheme}:";
    }

    /// <summary>
    /// CSP <c>form-action</c> for the sign-in page that returns to <paramref name="returnUrl"/>. When that is this
    /// endpoint and the user's consent is remembered, the sign-in post is answered by a redirect here and then at once
    /// by one to the client, which Chromium checks against the sign-in page's <c>form-action</c> too. Widening it to
    /// the client's origin is harmless even for a forged link: the page's only form posts to itself, and this
    /// endpoint redirects nowhere but to a redirect URI registered for the client.
    /// </summary>
    internal static string FormActionAfterSignIn(string returnUrl)
    {
        const string Prefix = AuthorizationServerExtensions.AuthorizePath + "?";
        if (!returnUrl.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return "'self'";
        }

        var query = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery(returnUrl[(Prefix.Length - 1)..]);
        return query.TryGetValue(OpenIddictConstants.Parameters.RedirectUri, out var values) && values is [{ } redirectUri] && RedirectUriRules.Check(redirectUri) is null
            ? FormActionFor(redirectUri)
            : "'self'";
    }

    private static async Task<bool> IsValidFormAsync(HttpContext context, IAntiforgery antiforgery)
    {
        try
        {
            await antiforgery.ValidateRequestAsync(context);
            return true;
        }
        catch (AntiforgeryValidationException)
        {
            return false;
        }
    }

    private static ContentHttpResult ErrorPage(HttpContext context, string error, string? description, int status = StatusCodes.Status400BadRequest) =>
        HtmlPage.Render(context, "Cannot authorize", $"""
            <p class="error" role="alert">{HtmlPage.Encode(description ?? error)}</p>
            <p>Error code: <code>{HtmlPage.Encode(error)}</code>. Go back to the application and try again, or ask your administrator.</p>
            """, status);

    /// <summary>Event ids 4100-4119. Never a token, code or secret.</summary>
    private static partial class Log
    {
        [LoggerMessage(EventId = 4100, Level = LogLevel.Information, Message = "User {Email} allowed client {ClientId}")]
        public static partial void ConsentGranted(ILogger logger, string email, string clientId);

        [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "User {Email} denied client {ClientId}")]
        public static partial void ConsentDenied(ILogger logger, string email, string clientId);

        [LoggerMessage(EventId = 4102, Level = LogLevel.Information, Message = "Authorization code issued to client {ClientId} for user {Email}, resources {Resources}")]
        public static partial void CodeIssued(ILogger logger, string email, string clientId, IReadOnlyList<string> resources);
    }
}
