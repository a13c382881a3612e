using System.Text.Json.Serialization;
using Gatehouse.Servers.Notes.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Servers.Notes.ResourceServer;

/// <summary>
/// RFC 9728 protected resource metadata of the MCP endpoint, where MCP clients look for it: path-inserted
/// (<c>/.well-known/oauth-protected-resource/mcp</c>, §3.1, what the 401 challenge points to) and at the root. It
/// names this server as the authorization server.
/// </summary>
internal static class ProtectedResourceMetadata
{
    public static void Map(IEndpointRouteBuilder endpoints, NotesUrls urls)
    {
        endpoints.MapGet(NotesUrls.ProtectedResourceMetadataPath, Describe);
        endpoints.MapGet(NotesUrls.ProtectedResourceMetadataPath + urls.McpPath, Describe);
    }

    private static JsonHttpResult<ResourceMetadata> Describe(HttpContext context, NotesUrls urls)
    {
        var request = context.Request;
        return TypedResults.Json(
            new ResourceMetadata(urls.Resource(request), [urls.Issuer(request)], [.. NotesScopes.Resource], ["header"], "Notes"),
            NotesJsonContext.Default.ResourceMetadata);
    }
}

/// <summary>RFC 9728 §2.</summary>
internal sealed record ResourceMetadata(
    [property: JsonPropertyName("resource")] string Resource,
    [property: JsonPropertyName("authorization_servers")] string[] AuthorizationServers,
    [property: JsonPropertyName("scopes_supported")] string[] ScopesSupported,
    [property: JsonPropertyName("bearer_methods_supported")] string[] BearerMethodsSupported,
    [property: JsonPropertyName("resource_name")] string ResourceName);
