using System.Security.Claims;
using Gatehouse.Configuration;
using Gatehouse.Proxy;
using Gatehouse.ResourceServer;
using Gatehouse.Revocation;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Authorization;

/// <summary>
/// The token endpoint, after OpenIddict has checked the client, the code or refresh token (signature, expiry,
/// PKCE, replay) and its issuer: re-checks that the grant still stands (its session was not ended, the built-in
/// user still exists), narrows the audience when the client asks for fewer resources (RFC 8707 §2.2), and issues.
/// </summary>
internal static partial class TokenEndpoint
{
    public static void Map(IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost(AuthorizationServerExtensions.TokenPath, HandleAsync)
            .WithOrder(-1)
            .ExcludeFromDescription();

    private static async Task<IResult> HandleAsync(HttpContext context, GatewayState state, RevocationList revocations, ILogger<ConsentStore> logger)
    {
        var request = context.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenIddict request.");
        if (!request.IsAuthorizationCodeGrantType() && !request.IsRefreshTokenGrantType())
        {
            return OAuthResults.Refuse(Errors.UnsupportedGrantType, "Only authorization_code and refresh_token grants are supported.");
        }

        var result = await context.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        if (result.Principal is not { } principal)
        {
            return OAuthResults.Refuse(Errors.InvalidGrant, "The grant is no longer valid.");
        }

        if (revocations.IsSessionRevoked(principal.GetClaim(GatehouseClaims.SessionId)))
        {
            return OAuthResults.Refuse(Errors.InvalidGrant, "The sign-in this grant came from has ended; authorize again.");
        }

        var config = state.Current.Config;
        if (config.Idp is { Provider: IdpProvider.Builtin } idp && principal.GetClaim(Claims.Email) is { } email)
        {
            // Built-in users live in the configuration: one removed since is refused, one whose groups changed gets
            // the new groups in the next access token.
            if (idp.FindUser(email) is not { } user)
            {
                return OAuthResults.Refuse(Errors.InvalidGrant, "This user no longer exists.");
            }

            var identity = (ClaimsIdentity)principal.Identity!;
            identity.SetClaim(Claims.Name, user.Name)
                .SetClaims(GatehouseClaims.Groups, [.. user.Groups]);
        }

        // RFC 8707 §2.2: a token request may name fewer resources than were granted, never others.
        var requested = request.GetResources();
        if (!requested.IsDefaultOrEmpty)
        {
            var granted = principal.GetResources();
            var outside = requested.FirstOrDefault(r => !granted.Contains(r, StringComparer.Ordinal));
            if (outside is not null)
            {
                return OAuthResults.Refuse(Errors.InvalidTarget, $"The resource '{outside}' was not part of this grant; authorize again to reach it.");
            }

            principal.SetResources(requested);
        }

        principal.SetDestinations(claim => AuthorizeEndpoint.Destinations(claim, (ClaimsIdentity)principal.Identity!));
        Log.TokenIssued(logger, request.GrantType!, request.ClientId ?? "(none)");
        return TypedResults.SignIn(principal, properties: null, OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4110, Level = LogLevel.Information, Message = "Tokens issued to client {ClientId} ({GrantType})")]
        public static partial void TokenIssued(ILogger logger, string grantType, string clientId);
    }
}
