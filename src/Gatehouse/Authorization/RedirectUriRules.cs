namespace Gatehouse.Authorization;

/// <summary>
/// Which redirect URIs a client may register, and when a requested one matches a registered one. Shared by
/// configured clients, Client ID Metadata Documents and dynamic registration, so every kind of client obeys the same
/// rules.
/// </summary>
internal static class RedirectUriRules
{
    /// <summary>Schemes that would run code or read files in the browser instead of reaching a client.</summary>
    private static readonly string[] s_forbiddenSchemes = ["javascript", "data", "file", "vbscript", "about", "blob", "ftp", "ws", "wss"];

    /// <summary>
    /// Null when <paramref name="text"/> may be registered, else why not. OAuth 2.1 §2.3.1 (absolute, no fragment)
    /// and §7.5.1: https, plain http only on a loopback host (RFC 8252 §7.3), or a native app's private-use scheme
    /// (RFC 8252 §7.1).
    /// </summary>
    public static string? Check(string text)
    {
        if (text.Length > 2000)
        {
            return "is longer than 2000 characters";
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            return "is not an absolute URI";
        }

        if (uri.Fragment.Length > 0 || text.Contains('#', StringComparison.Ordinal))
        {
            return "must not have a fragment (OAuth 2.1 §2.3.1)";
        }

        if (uri.UserInfo.Length > 0)
        {
            return "must not carry user:password";
        }

        if (uri.Scheme == Uri.UriSchemeHttps)
        {
            return uri.Host.Length == 0 ? "has no host" : null;
        }

        if (uri.Scheme == Uri.UriSchemeHttp)
        {
            return IsLoopbackHost(uri.Host) ? null : "plain http is allowed only on a loopback host (127.0.0.1, [::1] or localhost); use https";
        }

        if (Array.IndexOf(s_forbiddenSchemes, uri.Scheme) >= 0)
        {
            return $"the `{uri.Scheme}:` scheme cannot receive an authorization response";
        }

        // A private-use scheme of a native app (RFC 8252 §7.1), such as com.example.app:/callback or cursor://...
        return null;
    }

    /// <summary>
    /// Whether <paramref name="requested"/> is <paramref name="registered"/>: an exact string comparison (OAuth 2.1
    /// §4.1.1), except that a loopback http URI may use any port, since a native app binds whichever port is free
    /// (RFC 8252 §7.3).
    /// </summary>
    public static bool Matches(string registered, string requested)
    {
        if (string.Equals(registered, requested, StringComparison.Ordinal))
        {
            return true;
        }

        if (!Uri.TryCreate(registered, UriKind.Absolute, out var r) || !Uri.TryCreate(requested, UriKind.Absolute, out var q))
        {
            return false;
        }

        return r.Scheme == Uri.UriSchemeHttp && q.Scheme == Uri.UriSchemeHttp &&
            IsLoopbackHost(r.Host) && string.Equals(r.Host, q.Host, StringComparison.OrdinalIgnoreCase) &&
            q.Fragment.Length == 0 && requested.IndexOf('#', StringComparison.Ordinal) < 0 &&
            string.Equals(r.PathAndQuery, q.PathAndQuery, StringComparison.Ordinal);
    }

    public static bool IsLoopbackHost(string host) =>
        host is "127.0.0.1" or "[::1]" or "::1" || string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase);
}
