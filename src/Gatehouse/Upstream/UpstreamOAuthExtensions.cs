using System.Text.Json;
using Gatehouse.Proxy;
using Gatehouse.SignIn;
using Yarp.ReverseProxy.Transforms.Builder;

namespace Gatehouse.Upstream;

/// <summary>Upstream OAuth (docs/upstream-oauth.md): the token vault, its endpoints, and the request-path steps.</summary>
internal static class UpstreamOAuthExtensions
{
    public static IServiceCollection AddGatehouseUpstreamOAuth(this IServiceCollection services)
    {
        services.AddSingleton<UpstreamHttp>();
        services.AddSingleton<UpstreamDiscovery>();
        services.AddSingleton<UpstreamTokenClient>();
        services.AddSingleton<UpstreamConnections>();
        services.AddSingleton<IUpstreamConnections>(sp => sp.GetRequiredService<UpstreamConnections>());
        services.AddSingleton<ITransformProvider, UpstreamChallengeTransform>();
        return services;
    }

    public static IEndpointRouteBuilder MapGatehouseUpstreamOAuth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(UpstreamConnections.CallbackPath, CallbackAsync).WithOrder(-1).ExcludeFromDescription();
        endpoints.MapGet(UpstreamConnections.ClientMetadataPath, ClientMetadata).WithOrder(-1).ExcludeFromDescription();
        return endpoints;
    }

    /// <summary>
    /// Where the upstream's authorization server sends the browser back (RFC 6749 §4.1.2). Failures go back to the
    /// page that started connecting with <c>connect_error</c>; a state that cannot be read has no such page.
    /// </summary>
    private static async Task<IResult> CallbackAsync(
        HttpContext context, UpstreamConnections connections, ISessionUserAccessor sessions, string? state, string? code, string? iss, string? error)
    {
        context.Response.Headers.CacheControl = "no-store";
        var session = await sessions.GetUserAsync(context);
        try
        {
            return TypedResults.Redirect(await connections.CompleteAsync(state, code, iss, error, session?.Subject, context.RequestAborted));
        }
        catch (UpstreamOAuthException ex) when (ex.Failure == UpstreamFailure.Callback)
        {
            return TypedResults.Problem(ex.Message + "; start connecting again.", statusCode: StatusCodes.Status400BadRequest, title: "Bad Request");
        }
    }

    /// <summary>
    /// Gatehouse's own Client ID Metadata Document as an upstream client (draft-ietf-oauth-client-id-metadata-document
    /// §4.1: <c>client_id</c> is this very URL), one per host so that the redirect URI matches the host the user is on.
    /// </summary>
    private static Microsoft.AspNetCore.Http.HttpResults.FileContentHttpResult ClientMetadata(HttpContext context)
    {
        var origin = string.Concat(context.Request.Scheme, "://", context.Request.Host.Value);
        context.Response.Headers.CacheControl = "public, max-age=3600";
        var body = new ClientMetadataDocumentBody
        {
            ClientId = origin + UpstreamConnections.ClientMetadataPath,
            ClientName = "Gatehouse",
            ClientUri = origin,
            RedirectUris = [origin + UpstreamConnections.CallbackPath],
        };
        return TypedResults.Bytes(JsonSerializer.SerializeToUtf8Bytes(body, UpstreamJsonContext.Default.ClientMetadataDocumentBody), "application/json");
    }
}
