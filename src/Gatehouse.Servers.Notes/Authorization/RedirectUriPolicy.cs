namespace Gatehouse.Servers.Notes.Authorization;

/// <summary>
/// Which redirect URIs a client may register (from options or by dynamic registration), and when the one an
/// authorization request names matches one of them.
/// </summary>
internal static class RedirectUriPolicy
{
    /// <summary>Schemes that would run script or read local data in the browser rather than reach an app.</summary>
    private static readonly HashSet<string> s_refusedSchemes =
        new(["javascript", "data", "file", "vbscript", "about", "blob", "filesystem", "ws", "wss", "ftp"], StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Why <paramref name="uri"/> cannot be registered, or null when it can. OAuth 2.1 §2.3.1 (absolute, no
    /// fragment) and §7.5.1 with RFC 8252: https, http only on a loopback host, or a private-use scheme of a native app.
    /// </summary>
    public static string? Check(string uri)
    {
        if (uri.Length is 0 or > 2000)
        {
            return "must be 1 to 2000 characters";
        }

        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed))
        {
            return "is not an absolute URI";
        }

        if (uri.Contains('#', StringComparison.Ordinal))
        {
            return "has a fragment, which OAuth 2.1 §2.3.1 forbids";
        }

        if (parsed.UserInfo.Length > 0)
        {
            return "carries a user name or password";
        }

        return parsed.Scheme switch
        {
            "https" => parsed.Host.Length == 0 ? "has no host" : null,
            "http" => IsLoopbackHost(parsed.Host) ? null : "uses http on a host that is not loopback (127.0.0.1, [::1], localhost); use https",
            _ when s_refusedSchemes.Contains(parsed.Scheme) => $"uses the '{parsed.Scheme}:' scheme, which cannot receive an authorization response",
            _ => null,
        };
    }

    /// <summary>
    /// Whether <paramref name="requested"/> is <paramref name="registered"/>: the same string (OAuth 2.1 §4.1.1), or,
    /// for http on a loopback host, the same but for the port, which a native app picks when it starts (RFC 8252 §7.3).
    /// </summary>
    public static bool Matches(string registered, string requested)
    {
        if (string.Equals(registered, requested, StringComparison.Ordinal))
        {
            return true;
        }

        return Uri.TryCreate(registered, UriKind.Absolute, out var r) && Uri.TryCreate(requested, UriKind.Absolute, out var q) &&
            r.Scheme == Uri.UriSchemeHttp && q.Scheme == Uri.UriSchemeHttp && IsLoopbackHost(r.Host) &&
            string.Equals(r.Host, q.Host, StringComparison.OrdinalIgnoreCase) && q.UserInfo.Length == 0 &&
            !requested.Contains('#', StringComparison.Ordinal) &&
            string.Equals(r.PathAndQuery, q.PathAndQuery, StringComparison.Ordinal);
    }

    public static bool IsLoopbackHost(string host) =>
        host is "127.0.0.1" or "[::1]" or "::1" || host.Equals("localhost", StringComparison.OrdinalIgnoreCase);
}
