using System.Collections.Frozen;
using System.Security.Claims;

namespace Gatehouse.ResourceServer;

/// <summary>How a request proved who it is.</summary>
internal enum CredentialKind
{
    /// <summary>An access token from Gatehouse's authorization server (an MCP client acting for a user).</summary>
    AccessToken,

    /// <summary>A service-account token (an agent or CI job acting as a user, without a browser).</summary>
    ServiceAccount,

    /// <summary>A browser's session cookie (ordinary web routes).</summary>
    Session,
}

/// <summary>
/// The authenticated caller of one request, set as an HttpContext feature once the credential checked out. What
/// the identity assertion, policies and the audit log read.
/// </summary>
internal sealed record GatewayUser
{
    public required CredentialKind Kind { get; init; }

    /// <summary>Stable user id: the email for built-in users, the provider's subject for OpenID Connect.</summary>
    public required string Subject { get; init; }

    public required string Email { get; init; }

    public required string Name { get; init; }

    public required IReadOnlyList<string> Groups { get; init; }

    /// <summary>The browser session the credential descends from (empty for service accounts).</summary>
    public string? SessionId { get; init; }

    /// <summary>The OAuth client that holds the access token, or the service account id.</summary>
    public string? ClientId { get; init; }

    /// <summary>
    /// What identifies this credential for caches keyed per credential (token id, service account id, session id).
    /// </summary>
    public required string CredentialId { get; init; }

    /// <summary>When the credential stops being valid; assertions never outlive it.</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>
    /// The credential's claims by name, each with every value it has (a JWT array is one claim with several values),
    /// for policies' <c>claim/&lt;name&gt;</c>: every claim of an access token; <c>sub</c>, <c>email</c>, <c>name</c> and
    /// <c>groups</c> for sessions and service accounts.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Claims { get; init; } = FrozenDictionary<string, IReadOnlyList<string>>.Empty;

    /// <summary>Groups claims by type, keeping every value in order. Built once per token, never per request.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> ClaimsFrom(IEnumerable<Claim> claims)
    {
        var lists = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var claim in claims)
        {
            if (!lists.TryGetValue(claim.Type, out var values))
            {
                lists[claim.Type] = values = [];
            }

            values.Add(claim.Value);
        }

        return lists.ToFrozenDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value.ToArray(), StringComparer.Ordinal);
    }

    /// <summary>The user behind a browser session cookie.</summary>
    public static GatewayUser FromSession(SignIn.SessionUser session) => new()
    {
        Kind = CredentialKind.Session,
        Subject = session.Subject,
        Email = session.Email,
        Name = session.Name,
        Groups = session.Groups,
        SessionId = session.SessionId,
        CredentialId = "session:" + session.SessionId,
        ExpiresAt = session.ExpiresAt,
        Claims = IdentityClaims(session.Subject, session.Email, session.Name, session.Groups),
    };

    /// <summary>The claims a session or a service account has: <c>sub</c>, <c>email</c>, <c>name</c> and <c>groups</c>.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> IdentityClaims(string subject, string email, string name, IReadOnlyList<string> groups) =>
        new Dictionary<string, IReadOnlyList<string>>(4, StringComparer.Ordinal)
        {
            ["sub"] = [subject],
            ["email"] = [email],
            ["name"] = [name],
            ["groups"] = groups,
        };
}
