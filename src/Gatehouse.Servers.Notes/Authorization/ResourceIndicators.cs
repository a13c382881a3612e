using System.Collections.Immutable;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Http;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Gatehouse.Servers.Notes.Authorization;

/// <summary>
/// RFC 8707 resource indicators for the one resource this server protects, its MCP endpoint. A requested
/// <c>resource</c> is accepted in any form the MCP spec calls the same URI (case of scheme and host, trailing
/// slash) and replaced by the canonical one, which is what access tokens carry in <c>aud</c>. Anything else is
/// <c>invalid_target</c> (RFC 8707 §2). These handlers stand in for OpenIddict's, which compare
/// <c>Uri.AbsoluteUri</c> and so refuse <c>https://host/mcp</c>.
/// </summary>
internal static class ResourceIndicators
{
    private const string InvalidTargetProperty = "notes:invalid_target";

    public static void Register(OpenIddictServerBuilder server)
    {
        server.AddEventHandler<ValidateAuthorizationRequestContext>(handler => handler
            .UseSingletonHandler<AuthorizationRequestResources>()
            .SetOrder(OpenIddictServerHandlers.Authentication.ValidateResources.Descriptor.Order));
        server.AddEventHandler<ValidateTokenRequestContext>(handler => handler
            .UseSingletonHandler<TokenRequestResources>()
            .SetOrder(OpenIddictServerHandlers.Exchange.ValidateResources.Descriptor.Order));
    }

    /// <summary>Why the authorization request's resource was refused, for the endpoint to send to the client.</summary>
    public static string? InvalidTarget(HttpContext context) =>
        context.Features.Get<OpenIddictServerAspNetCoreFeature>()?.Transaction?.Properties.TryGetValue(InvalidTargetProperty, out var value) == true
            ? value as string
            : null;

    /// <summary>The first requested resource that is not this server's MCP endpoint, or null when all are.</summary>
    private static string? Foreign(NotesUrls urls, HttpRequest request, ImmutableArray<string?> requested)
    {
        foreach (var resource in requested)
        {
            if (resource is null || !urls.IsThisResource(request, resource))
            {
                return resource ?? "";
            }
        }

        return null;
    }

    private static string Refusal(NotesUrls urls, HttpRequest request, string resource) =>
        $"The resource '{resource}' is not served here. This server protects one resource, {urls.Resource(request)} (RFC 8707).";

    internal sealed class AuthorizationRequestResources(NotesUrls urls) : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>
    {
        public ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
        {
            var request = context.Transaction.GetHttpRequest() ?? throw new InvalidOperationException("Not an ASP.NET Core request.");
            var requested = context.Request.Resources ?? [];
            if (!requested.IsDefaultOrEmpty && Foreign(urls, request, requested) is { } foreign)
            {
                // Refused by AuthorizeEndpoint, once OpenIddict has checked the redirect URI: the error then goes back
                // to the client (RFC 8707 §2) instead of stopping the user on an error page.
                context.Transaction.Properties[InvalidTargetProperty] = Refusal(urls, request, foreign);
                context.Request.Resources = [];
                return ValueTask.CompletedTask;
            }

            // A client that names no resource means the only one there is (MCP clients always name it).
            context.Request.Resources = [urls.Resource(request)];
            return ValueTask.CompletedTask;
        }
    }

    internal sealed class TokenRequestResources(NotesUrls urls) : IOpenIddictServerHandler<ValidateTokenRequestContext>
    {
        public ValueTask HandleAsync(ValidateTokenRequestContext context)
        {
            var requested = context.Request.Resources ?? [];
            if (requested.IsDefaultOrEmpty)
            {
                return ValueTask.CompletedTask;
            }

            var request = context.Transaction.GetHttpRequest() ?? throw new InvalidOperationException("Not an ASP.NET Core request.");
            if (Foreign(urls, request, requested) is { } foreign)
            {
                context.Reject(Errors.InvalidTarget, Refusal(urls, request, foreign));
                return ValueTask.CompletedTask;
            }

            // Whether the grant covers it is checked where the grant is known (TokenEndpoint).
            context.Request.Resources = [urls.Resource(request)];
            return ValueTask.CompletedTask;
        }
    }
}
