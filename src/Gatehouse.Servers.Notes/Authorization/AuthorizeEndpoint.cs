using System.Collections.Immutable;
using System.Security.Claims;
using System.Text;
using Gatehouse.Servers.Notes.SignIn;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Servers.Notes.Authorization;

/// <summary>
/// The authorization endpoint, after OpenIddict has validated the request (client, redirect URI, PKCE S256):
/// finds the user (the sign-in cookie, or <see cref="NotesServerOptions.AutoApproveUser"/>), asks for consent the
/// first time a user meets a client or when it asks for more scopes, and issues the code. OpenIddict sends the
/// redirect with <c>code</c>, <c>state</c> and <c>iss</c> (RFC 9207). OAuth 2.1 §4.1.
/// </summary>
internal static class AuthorizeEndpoint
{
    /// <summary>The consent form's button; not an authorization request parameter.</summary>
    private const string DecisionField = "consent_decision";

    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapMethods(AuthorizationServer.AuthorizePath, [HttpMethods.Get, HttpMethods.Post], HandleAsync);

    private static async Task<IResult> HandleAsync(
        HttpContext context, UserDirectory users, IOpenIddictApplicationManager applications, IOpenIddictAuthorizationManager authorizations,
        IAntiforgery antiforgery, ILogger<UserDirectory> logger)
    {
        // Errors OpenIddict could not send to a verified redirect URI (unknown client, unregistered redirect URI,
        // missing PKCE) are shown to the user: redirecting them would make this an open redirector.
        if (context.GetOpenIddictServerResponse() is { Error: { } error } response)
        {
            return Pages.Error(context, response.ErrorDescription ?? error, error);
        }

        var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenIddict request.");
        if (ResourceIndicators.InvalidTarget(context) is { } invalidTarget)
        {
            return AuthorizationServer.Refuse(Errors.InvalidTarget, invalidTarget);
        }

        var cancellationToken = context.RequestAborted;
        var application = await applications.FindByClientIdAsync(request.ClientId!, cancellationToken)
            ?? throw new InvalidOperationException("OpenIddict validated a client that does not exist.");
        var applicationId = await applications.GetIdAsync(application, cancellationToken);
        var scopes = NotesScopes.Grantable(request.GetScopes());

        var user = users.AutoApprove;
        string? consentId = null;
        if (user is null)
        {
            user = await SignInEndpoints.CurrentUserAsync(context, users);
            if (user is null)
            {
                return request.HasPromptValue(PromptValues.None)
                    ? AuthorizationServer.Refuse(Errors.LoginRequired, "The user is not signed in.")
                    : TypedResults.Redirect(SignInEndpoints.SignInUrl(AuthorizeUrl(request)));
            }

            if (request.GetParameter(DecisionField) is { } decision && HttpMethods.IsPost(context.Request.Method))
            {
                // The consent form: CSRF-checked, so no other site can approve a client in the user's name.
                if (!await antiforgery.IsRequestValidAsync(context))
                {
                    return Pages.Error(context, "The consent form expired or was not sent from this site. Go back to the application and start again.");
                }

                if ((string?)decision != "allow")
                {
                    Log.ConsentDenied(logger, user.Email, request.ClientId!);
                    return AuthorizationServer.Refuse(Errors.AccessDenied, "The user did not allow this application.");
                }

                // The consent is a permanent OpenIddict authorization: remembered for this user, client and scopes.
                var consent = await authorizations.CreateAsync(
                    Identity(user, scopes, request.GetResources()), user.Subject, applicationId!, AuthorizationTypes.Permanent, scopes, cancellationToken);
                consentId = await authorizations.GetIdAsync(consent, cancellationToken);
                Log.ConsentGranted(logger, user.Email, request.ClientId!, string.Join(' ', scopes));
            }
            else
            {
                consentId = request.HasPromptValue(PromptValues.Consent)
                    ? null
                    : await FindConsentAsync(authorizations, user.Subject, applicationId!, scopes, cancellationToken);
                if (consentId is null)
                {
                    if (request.HasPromptValue(PromptValues.None))
                    {
                        return AuthorizationServer.Refuse(Errors.ConsentRequired, "The user has not allowed this application yet.");
                    }

                    var clientName = await applications.GetDisplayNameAsync(application, cancellationToken) ?? request.ClientId!;
                    return ConsentPage(context, antiforgery, request, user, clientName, scopes);
                }
            }
        }

        var identity = Identity(user, scopes, request.GetResources());
        if (consentId is not null)
        {
            // Codes and tokens of this grant then belong to the consent, and are revoked with it.
            identity.SetAuthorizationId(consentId);
        }

        Log.CodeIssued(logger, request.ClientId!, user.Email, string.Join(' ', scopes));
        return TypedResults.SignIn(new ClaimsPrincipal(identity), properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary>The user's standing consent for the client that covers every scope asked for, if any.</summary>
    private static async Task<string?> FindConsentAsync(
        IOpenIddictAuthorizationManager authorizations, string subject, string applicationId, ImmutableArray<string> scopes, CancellationToken cancellationToken)
    {
        await foreach (var authorization in authorizations.FindAsync(subject, applicationId, Statuses.Valid, AuthorizationTypes.Permanent, scopes, cancellationToken))
        {
            return await authorizations.GetIdAsync(authorization, cancellationToken);
        }

        return null;
    }

    /// <summary>
    /// The grant's identity. Every claim goes into the access token; the ID token carries email and name only when
    /// those scopes were granted (OpenID Connect Core §5.4).
    /// </summary>
    internal static ClaimsIdentity Identity(NotesAccount user, ImmutableArray<string> scopes, ImmutableArray<string> resources)
    {
        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, user.Subject)
            .SetClaim(Claims.Email, user.Email)
            .SetClaim(Claims.Name, user.Name);
        identity.SetScopes(scopes);
        identity.SetResources(resources);
        identity.SetDestinations(Destinations);
        return identity;
    }

    internal static IEnumerable<string> Destinations(Claim claim) => claim.Type switch
    {
        Claims.Email when claim.Subject?.HasScope(Scopes.Email) == true => [OpenIddictConstants.Destinations.AccessToken, OpenIddictConstants.Destinations.IdentityToken],
        Claims.Name when claim.Subject?.HasScope(Scopes.Profile) == true => [OpenIddictConstants.Destinations.AccessToken, OpenIddictConstants.Destinations.IdentityToken],
        _ => [OpenIddictConstants.Destinations.AccessToken],
    };

    /// <summary>The authorization request's parameters, without the consent form's own fields.</summary>
    private static IEnumerable<KeyValuePair<string, string>> Parameters(OpenIddictRequest request)
    {
        foreach (var (name, parameter) in request.GetParameters())
        {
            if (name is DecisionField || name == SignInEndpoints.AntiforgeryField)
            {
                continue;
            }

            foreach (var value in (ImmutableArray<string?>?)parameter ?? [])
            {
                if (value is not null)
                {
                    yield return new(name, value);
                }
            }
        }
    }

    /// <summary>This request as a GET on this endpoint, to come back to after sign-in.</summary>
    private static string AuthorizeUrl(OpenIddictRequest request) =>
        AuthorizationServer.AuthorizePath + "?" + string.Join('&', Parameters(request).Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));

    private static ContentHttpResult ConsentPage(
        HttpContext context, IAntiforgery antiforgery, OpenIddictRequest request, NotesAccount user, string clientName, ImmutableArray<string> scopes)
    {
        var tokens = antiforgery.GetAndStoreTokens(context);
        var redirect = new Uri(request.RedirectUri!);
        var destination = redirect.Host.Length > 0 ? redirect.Authority : redirect.Scheme + ":";

        var fields = new StringBuilder(Pages.Hidden(tokens.FormFieldName, tokens.RequestToken));
        foreach (var (name, value) in Parameters(request))
        {
            fields.Append('\n').Append(Pages.Hidden(name, value));
        }

        var scopeItems = string.Concat(scopes.Select(s => $"<li>{Pages.Encode(NotesScopes.Describe(s))} <code>{Pages.Encode(s)}</code></li>"));
        var local = RedirectUriPolicy.IsLoopbackHost(redirect.Host)
            ? "<p>This application runs on your own computer. Allow it only if you just started it yourself.</p>"
            : "";
        var body = $"""
            <p><strong>{Pages.Encode(clientName)}</strong> (<code>{Pages.Encode(request.ClientId)}</code>) wants to use your notes as
            <strong>{Pages.Encode(user.Email)}</strong>:</p>
            <ul>{scopeItems}</ul>
            <p>You will then be sent back to <strong>{Pages.Encode(destination)}</strong>.</p>
            {local}
            <form method="post" action="{AuthorizationServer.AuthorizePath}">
            {fields}
            <button type="submit" name="{DecisionField}" value="allow">Allow</button>
            <button type="submit" name="{DecisionField}" value="deny">Deny</button>
            </form>
            """;
        var formTarget = redirect.Scheme is "http" or "https" ? redirect.GetLeftPart(UriPartial.Authority) : redirect.Scheme + ":";
        return Pages.Render(context, "Allow access to your notes?", body, formTarget: formTarget);
    }
}
