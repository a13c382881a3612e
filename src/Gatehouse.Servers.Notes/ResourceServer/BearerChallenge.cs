using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Servers.Notes.ResourceServer;

/// <summary>
/// The <c>WWW-Authenticate: Bearer</c> challenges of the MCP endpoint: <c>resource_metadata</c> (RFC 9728 §5.1)
/// on every one, with the scopes to ask for (RFC 6750 §3), and an error when a token was refused.
/// </summary>
internal static class BearerChallenge
{
    public static void Write(HttpContext context, NotesUrls urls, int status, string scope, (string Code, string Description)? error)
    {
        var header = new StringBuilder("Bearer resource_metadata=\"").Append(urls.ResourceMetadata(context.Request))
            .Append("\", scope=\"").Append(scope).Append('"');
        if (error is { } e)
        {
            // Quoted strings (RFC 9110 §5.6.4): the descriptions are ours and hold no quote or backslash.
            header.Append(", error=\"").Append(e.Code).Append("\", error_description=\"").Append(e.Description).Append('"');
        }

        context.Response.StatusCode = status;
        context.Response.Headers[HeaderNames.WWWAuthenticate] = header.ToString();
        context.Response.Headers.CacheControl = "no-store";
    }
}
