using System.Security.Claims;
using Gatehouse.Proxy;
using Gatehouse.ResourceServer;
using Gatehouse.Revocation;
using Microsoft.AspNetCore;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Gatehouse.Authorization;

/// <summary>
/// RFC 7662 introspection for resource servers. OpenIddict lets a caller introspect only tokens it holds or is an
/// audience of, and Gatehouse's audiences are MCP server URLs, not client ids; so a configured client with
/// <c>introspect_routes</c> may introspect tokens issued for those routes, and gets the user's identity with the
/// answer. Tokens whose session, grant or self was revoked are reported inactive (RFC 7662 §2.2).
/// </summary>
internal static class IntrospectionHandlers
{
    public static void Register(OpenIddictServerBuilder server)
    {
        server.RemoveEventHandler(OpenIddictServerHandlers.Introspection.ValidateAuthorizedParty.Descriptor);
        server.AddEventHandler<ValidateIntrospectionRequestContext>(builder => builder
            .UseSingletonHandler<ValidateIntrospectingParty>()
            .SetOrder(OpenIddictServerHandlers.Introspection.ValidateAuthorizedParty.Descriptor.Order));
        server.AddEventHandler<HandleIntrospectionRequestContext>(builder => builder
            .UseSingletonHandler<AttachIdentityForResourceServers>()
            .SetOrder(OpenIddictServerHandlers.Introspection.AttachApplicationClaims.Descriptor.Order + 1));
    }

    /// <summary>The MCP resources <paramref name="clientId"/> may introspect tokens of, on this host.</summary>
    private static HashSet<string> IntrospectableResources(GatewaySnapshot snapshot, HttpRequest request, string? clientId)
    {
        var resources = new HashSet<string>(StringComparer.Ordinal);
        var client = snapshot.Config.Clients.FirstOrDefault(c => c.ClientId == clientId);
        if (client is null)
        {
            return resources;
        }

        foreach (var route in McpResources.RoutesOnHost(snapshot, request.Host).Where(r => client.IntrospectRoutes.Contains(r.Id)))
        {
            resources.Add(McpResources.ResourceUrl(request, snapshot.Config, route));
        }

        return resources;
    }

    internal sealed class ValidateIntrospectingParty(GatewayState state, RevocationList revocations) : IOpenIddictServerHandler<ValidateIntrospectionRequestContext>
    {
        public ValueTask HandleAsync(ValidateIntrospectionRequestContext context)
        {
            var principal = context.GenericTokenPrincipal;
            if (principal is null)
            {
                return ValueTask.CompletedTask;
            }

            if (revocations.IsSessionRevoked(principal.GetClaim(GatehouseClaims.SessionId)) ||
                revocations.IsAuthorizationRevoked(principal.GetAuthorizationId()) ||
                revocations.IsTokenRevoked(principal.GetTokenId()))
            {
                context.Reject(Errors.InvalidToken, "The token has been revoked.");
                return ValueTask.CompletedTask;
            }

            // The client the token was issued to may always look at it (RFC 7662 §4 leaves the policy to the server).
            if (principal.HasPresenter(context.ClientId!))
            {
                return ValueTask.CompletedTask;
            }

            var request = context.Transaction.GetHttpRequest() ?? throw new InvalidOperationException("No HTTP request.");
            var allowed = IntrospectableResources(state.Current, request, context.ClientId);
            if (principal.HasTokenType(TokenTypeIdentifiers.AccessToken) && principal.GetAudiences().Any(allowed.Contains))
            {
                return ValueTask.CompletedTask;
            }

            // RFC 7662 §2.2: a token the caller may not see is reported as inactive.
            context.Reject(Errors.InvalidToken, "This client may not introspect the token.");
            return ValueTask.CompletedTask;
        }
    }

    internal sealed class AttachIdentityForResourceServers(GatewayState state) : IOpenIddictServerHandler<HandleIntrospectionRequestContext>
    {
        public ValueTask HandleAsync(HandleIntrospectionRequestContext context)
        {
            var principal = context.GenericTokenPrincipal;
            var request = context.Transaction.GetHttpRequest();
            if (principal is null || request is null || !principal.GetAudiences().Any(IntrospectableResources(state.Current, request, context.Request.ClientId).Contains))
            {
                return ValueTask.CompletedTask;
            }

            foreach (var scope in principal.GetScopes())
            {
                context.Scopes.Add(scope);
            }

            foreach (var type in new[] { GatehouseClaims.Email, GatehouseClaims.Name, GatehouseClaims.SessionId })
            {
                if (principal.GetClaim(type) is { } value)
                {
                    context.Claims[type] = value;
                }
            }

            var groups = principal.GetClaims(GatehouseClaims.Groups);
            if (!groups.IsDefaultOrEmpty)
            {
                context.Claims[GatehouseClaims.Groups] = groups.CastArray<string?>();
            }

            return ValueTask.CompletedTask;
        }
    }
}
