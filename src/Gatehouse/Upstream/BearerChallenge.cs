using System.Net.Http.Headers;
using System.Text;

namespace Gatehouse.Upstream;

/// <summary>
/// A <c>Bearer</c> challenge from <c>WWW-Authenticate</c> (RFC 6750 §3): its <c>error</c>, <c>scope</c> and RFC 9728
/// §5.1's <c>resource_metadata</c>, as an MCP server sends them on 401 and on 403 <c>insufficient_scope</c>.
/// </summary>
internal sealed record BearerChallenge(string? Error, IReadOnlyList<string>? Scopes, string? ResourceMetadata)
{
    /// <summary>The first Bearer challenge of a response, or null when it has none.</summary>
    public static BearerChallenge? From(HttpResponseHeaders headers)
    {
        foreach (var challenge in headers.WwwAuthenticate)
        {
            if (string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase))
            {
                return Parse(challenge.Parameter);
            }
        }

        return null;
    }

    /// <summary>Reads the auth-params of one challenge (RFC 9110 §11.2): <c>name=token</c> or <c>name="quoted string"</c>.</summary>
    public static BearerChallenge Parse(string? parameters)
    {
        string? error = null, scope = null, resourceMetadata = null;
        var text = parameters ?? "";
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && (text[i] == ',' || char.IsWhiteSpace(text[i])))
            {
                i++;
            }

            var nameStart = i;
            while (i < text.Length && text[i] != '=' && text[i] != ',' && !char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var name = text[nameStart..i];
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i >= text.Length || text[i] != '=')
            {
                continue;
            }

            i++;
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            string value;
            if (i < text.Length && text[i] == '"')
            {
                var builder = new StringBuilder();
                i++;
                while (i < text.Length && text[i] != '"')
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    builder.Append(text[i++]);
                }

                i++;
                value = builder.ToString();
            }
            else
            {
                var valueStart = i;
                while (i < text.Length && text[i] != ',' && !char.IsWhiteSpace(text[i]))
                {
                    i++;
                }

                value = text[valueStart..i];
            }

            switch (name.ToLowerInvariant())
            {
                case "error":
                    error = value;
                    break;
                case "scope":
                    scope = value;
                    break;
                case "resource_metadata":
                    resourceMetadata = value;
                    break;
            }
        }

        var scopes = string.IsNullOrWhiteSpace(scope) ? null : scope.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return new BearerChallenge(error, scopes, resourceMetadata);
    }

    public static BearerChallenge? From(AuthenticationHeaderValue? value) =>
        value is not null && string.Equals(value.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase) ? Parse(value.Parameter) : null;
}
