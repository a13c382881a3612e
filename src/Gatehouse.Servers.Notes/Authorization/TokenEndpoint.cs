using System.Security.Claims;
using Gatehouse.Servers.Notes.SignIn;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Servers.Notes.Authorization;

/// <summary>
/// The token endpoint, after OpenIddict has authenticated the client and checked the code or refresh token
/// (signature, expiry, PKCE verifier, redirect URI, replay): checks that the user still exists, narrows the
/// audience when the client names a resource (RFC 8707 §2.2), and issues.
/// </summary>
internal static class TokenEndpoint
{
    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost(AuthorizationServer.TokenPath, HandleAsync);

    private static async Task<IResult> HandleAsync(HttpContext context, UserDirectory users, ILogger<ClientStore> logger)
    {
        var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenIddict request.");
        var result = await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        if (result.Principal is not { Identity: ClaimsIdentity identity } principal)
        {
            return AuthorizationServer.Refuse(Errors.InvalidGrant, "The grant is no longer valid.");
        }

        // Users live in the options: one removed since the grant is refused, one renamed gets the new name.
        if (users.Find(principal.GetClaim(Claims.Subject)) is not { } user)
        {
            return AuthorizationServer.Refuse(Errors.InvalidGrant, "The user of this grant no longer exists.");
        }

        identity.SetClaim(Claims.Name, user.Name).SetClaim(Claims.Email, user.Email);

        // The only resource is the MCP endpoint (ResourceIndicators); still, a grant made without it does not cover it.
        var requested = request.GetResources();
        if (!requested.IsDefaultOrEmpty && requested.Except(principal.GetResources(), StringComparer.Ordinal).FirstOrDefault() is { } outside)
        {
            return AuthorizationServer.Refuse(Errors.InvalidTarget, $"The resource '{outside}' is not part of this grant.");
        }

        identity.SetDestinations(AuthorizeEndpoint.Destinations);
        Log.TokensIssued(logger, request.ClientId ?? "(authenticated client)", request.GrantType ?? "");
        return TypedResults.SignIn(principal, properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }
}
