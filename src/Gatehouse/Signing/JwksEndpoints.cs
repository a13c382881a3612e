namespace Gatehouse.Signing;

internal static class JwksEndpoints
{
    public const string Path = "/.well-known/gatehouse/jwks.json";

    /// <summary>Pomerium's path, so MCP servers written for Pomerium verify assertions unchanged.</summary>
    public const string PomeriumPath = "/.well-known/pomerium/jwks.json";

    /// <summary>
    /// Serves the public signing keys (RFC 7517) from memory. A short max-age: successors are published an hour
    /// before use (<see cref="SigningKeyStore.PublishBeforeUse"/>), so caches always hold a key before it signs.
    /// Ordered before every route so that no route can shadow it.
    /// </summary>
    public static IEndpointRouteBuilder MapJwksEndpoints(this IEndpointRouteBuilder endpoints)
    {
        foreach (var path in new[] { Path, PomeriumPath })
        {
            endpoints.MapGet(path, (HttpContext context, SigningKeyStore keys) =>
                {
                    context.Response.Headers.CacheControl = "public, max-age=300";
                    return TypedResults.Bytes(keys.Current.JwksJson, "application/json");
                })
                .WithOrder(-1)
                .ExcludeFromDescription();
        }

        return endpoints;
    }
}
