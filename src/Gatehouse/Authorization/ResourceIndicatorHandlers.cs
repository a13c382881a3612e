using System.Collections.Immutable;
using Gatehouse.Proxy;
using Microsoft.AspNetCore;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Gatehouse.Authorization;

/// <summary>
/// RFC 8707 resource indicators, resolved against the MCP server routes of the request's host. Each requested
/// resource is replaced by its canonical URI (what tokens carry in <c>aud</c> and the gateway expects on that
/// route); one that names no MCP server here is refused with <c>invalid_target</c> (RFC 8707 §2).
/// </summary>
internal static class ResourceIndicatorHandlers
{
    public static void Register(OpenIddictServerBuilder server)
    {
        server.AddEventHandler<ValidateAuthorizationRequestContext>(builder => builder
            .UseSingletonHandler<AuthorizationRequestResources>()
            .SetOrder(OpenIddictServerHandlers.Authentication.ValidateResources.Descriptor.Order));
        server.AddEventHandler<ValidateTokenRequestContext>(builder => builder
            .UseSingletonHandler<TokenRequestResources>()
            .SetOrder(OpenIddictServerHandlers.Exchange.ValidateResources.Descriptor.Order));
    }

    /// <summary>Canonical URIs of <paramref name="resources"/>, or the first that names no MCP server on this host.</summary>
    private static (ImmutableArray<string?> Canonical, string? Unknown) Resolve(GatewaySnapshot snapshot, HttpRequest request, ImmutableArray<string?> resources)
    {
        var canonical = ImmutableArray.CreateBuilder<string?>();
        foreach (var resource in resources)
        {
            if (resource is null || McpResources.Resolve(snapshot, request, resource) is not { } resolved)
            {
                return (default, resource ?? "");
            }

            if (!canonical.Contains(resolved.Canonical))
            {
                canonical.Add(resolved.Canonical);
            }
        }

        return (canonical.ToImmutable(), null);
    }

    private static string UnknownResource(string resource) =>
        $"The resource '{resource}' is not an MCP server behind this gateway; use the URL of an MCP server route on this host (RFC 8707).";

    internal sealed class AuthorizationRequestResources(GatewayState state) : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>
    {
        public ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
        {
            var request = context.Transaction.GetHttpRequest() ?? throw new InvalidOperationException("No HTTP request.");
            var snapshot = state.Current;
            var requested = context.Request.Resources ?? [];
            if (requested.IsDefaultOrEmpty)
            {
                // MCP clients send `resource` (MCP authorization, "Resource Parameter Implementation"). For one that
                // does not, a host with a single MCP server leaves no doubt; otherwise the client must say which.
                var onHost = McpResources.RoutesOnHost(snapshot, request.Host).ToList();
                if (onHost.Count != 1)
                {
                    context.Transaction.Properties[InvalidTargetProperty] = onHost.Count == 0
                        ? "This host serves no MCP server, so there is nothing to authorize."
                        : "This host serves several MCP servers: name the one to authorize with the 'resource' parameter (RFC 8707).";
                    return ValueTask.CompletedTask;
                }

                context.Request.Resources = [McpResources.ResourceUrl(request, snapshot.Config, onHost[0])];
                return ValueTask.CompletedTask;
            }

            var (canonical, unknown) = Resolve(snapshot, request, requested);
            if (unknown is not null)
            {
                // Refused by AuthorizeEndpoint once the redirect URI is validated, so the client receives the error
                // (RFC 8707 §2); a rejection here would only show the user an error page.
                context.Transaction.Properties[InvalidTargetProperty] = UnknownResource(unknown);
                context.Request.Resources = [];
                return ValueTask.CompletedTask;
            }

            context.Request.Resources = canonical;
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Transaction property naming the resource an authorization request asked for in vain.</summary>
    public const string InvalidTargetProperty = "gatehouse:invalid_target";

    internal sealed class TokenRequestResources(GatewayState state) : IOpenIddictServerHandler<ValidateTokenRequestContext>
    {
        public ValueTask HandleAsync(ValidateTokenRequestContext context)
        {
            var requested = context.Request.Resources ?? [];
            if (requested.IsDefaultOrEmpty)
            {
                return ValueTask.CompletedTask;
            }

            var request = context.Transaction.GetHttpRequest() ?? throw new InvalidOperationException("No HTTP request.");
            var (canonical, unknown) = Resolve(state.Current, request, requested);
            if (unknown is not null)
            {
                context.Reject(Errors.InvalidTarget, UnknownResource(unknown));
                return ValueTask.CompletedTask;
            }

            // Whether these are within the grant is checked where the grant is known (TokenEndpoint).
            context.Request.Resources = canonical;
            return ValueTask.CompletedTask;
        }
    }
}
