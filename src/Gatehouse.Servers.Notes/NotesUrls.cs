using Microsoft.AspNetCore.Http;

namespace Gatehouse.Servers.Notes;

/// <summary>
/// The server's public URLs for a request: its origin (<see cref="NotesServerOptions.PublicUrl"/>, else the
/// request's), the OAuth issuer, the MCP resource (RFC 8707, what access tokens carry in <c>aud</c>) and the
/// protected resource metadata. Hosts reach the pipeline in lower case (see <see cref="NotesServer"/>), so each
/// of these is canonical: lower-case scheme and host, no trailing slash on the resource.
/// </summary>
internal sealed class NotesUrls(NotesServerOptions options)
{
    public const string ProtectedResourceMetadataPath = "/.well-known/oauth-protected-resource";

    private readonly string? _publicOrigin = options.PublicUrl?.GetLeftPart(UriPartial.Authority);

    public string McpPath => options.McpPath;

    public string Origin(HttpRequest request) => _publicOrigin ?? string.Concat(request.Scheme, "://", request.Host.Value);

    /// <summary>The issuer as OpenIddict writes it: the origin and a slash.</summary>
    public string Issuer(HttpRequest request) => Origin(request) + "/";

    public string Resource(HttpRequest request) => Origin(request) + options.McpPath;

    /// <summary>RFC 9728 §3.1: the well-known path inserted before the resource's path.</summary>
    public string ResourceMetadata(HttpRequest request) => Origin(request) + ProtectedResourceMetadataPath + options.McpPath;

    public string Note(HttpRequest request, string id) => Origin(request) + "/notes/" + Uri.EscapeDataString(id);

    /// <summary>
    /// Whether <paramref name="resource"/> names this server's MCP endpoint. MCP authorization, "Canonical Server
    /// URI": scheme and host compare without case and a trailing slash does not matter, so
    /// <c>HTTP://LOCALHOST:5082/mcp/</c> is the same resource as <c>http://localhost:5082/mcp</c>.
    /// </summary>
    public bool IsThisResource(HttpRequest request, string resource)
    {
        if (!Uri.TryCreate(resource, UriKind.Absolute, out var uri) || uri.Query.Length > 0 || uri.Fragment.Length > 0 ||
            uri.UserInfo.Length > 0 || resource.Contains('#', StringComparison.Ordinal))
        {
            return false;
        }

        // GetLeftPart lower-cases the scheme and host and drops a default port, as Origin does.
        return string.Equals(uri.GetLeftPart(UriPartial.Authority), Origin(request), StringComparison.Ordinal) &&
            string.Equals(uri.AbsolutePath.TrimEnd('/'), options.McpPath, StringComparison.Ordinal);
    }
}
