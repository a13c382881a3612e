using System.Security.Cryptography;
using System.Text;
using Gatehouse.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;

namespace Gatehouse.SignIn;

/// <summary>The signed-in user behind a session cookie.</summary>
internal sealed record SessionUser(string SessionId, string Email, string Name, IReadOnlyList<string> Groups, DateTimeOffset ExpiresAt)
{
    /// <summary>The user's stable id (<c>sub</c>): the provider's subject, or the email for built-in users.</summary>
    public string Subject { get; init; } = Email;
}

/// <summary>Resolves the request's session cookie to the signed-in user, or null. For features that need the user.</summary>
internal interface ISessionUserAccessor
{
    ValueTask<SessionUser?> GetUserAsync(HttpContext context);

    /// <summary>Resolves a raw cookie value (never logged).</summary>
    ValueTask<SessionUser?> ResolveAsync(string? cookieValue, CancellationToken cancellationToken);
}

/// <summary>
/// Server-side sessions in the database, referenced by a <c>__Host-</c> cookie. Lookups are cached in memory for a
/// few seconds so that a page load does not cost a database query per request, while a revocation made by any
/// replica takes effect everywhere within <see cref="CacheDuration"/>.
/// </summary>
internal sealed class SessionStore(IServiceScopeFactory scopes, IMemoryCache cache, TimeProvider time, Revocation.RevocationList revocations, Proxy.GatewayState state)
    : ISessionUserAccessor
{
    /// <summary>
    /// <c>__Host-</c>: the browser accepts it only with Secure, Path=/ and no Domain, so no sibling host can set or
    /// overwrite it (https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1.3.2).
    /// </summary>
    public const string CookieName = "__Host-gatehouse_session";

    public static readonly TimeSpan CacheDuration = TimeSpan.FromSeconds(5);

    private static readonly object s_none = new();

    public async Task<(string CookieValue, UserSession Session)> CreateAsync(
        string email, string name, IReadOnlyList<string> groups, TimeSpan lifetime, CancellationToken cancellationToken, Action<UserSession>? configure = null)
    {
        var cookieValue = Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var now = time.GetUtcNow();
        var session = new UserSession
        {
            Id = HashOf(cookieValue),
            Email = email.ToLowerInvariant(),
            Name = name,
            Groups = [.. groups],
            CreatedAt = now,
            ExpiresAt = now + lifetime,
        };
        configure?.Invoke(session);

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        db.UserSessions.Add(session);
        await db.SaveChangesAsync(cancellationToken);
        return (cookieValue, session);
    }

    /// <summary>
    /// The session cookie's attributes, for every provider's sign-in and for sign-out (which must name the same
    /// attributes to delete it). Always Secure, even when Kestrel serves plain HTTP on loopback: the cookie must never
    /// travel in clear text.
    /// </summary>
    public static CookieOptions CookieOptions(DateTimeOffset? expires) => new()
    {
        Secure = true,
        HttpOnly = true,
        SameSite = SameSiteMode.Lax,
        Path = "/",
        Expires = expires,
        IsEssential = true,
    };

    /// <summary>Gives the browser the cookie of a session just created, expiring with it.</summary>
    public static void AppendCookie(HttpResponse response, string cookieValue, UserSession session) =>
        response.Cookies.Append(CookieName, cookieValue, CookieOptions(session.ExpiresAt));

    public ValueTask<SessionUser?> GetUserAsync(HttpContext context) =>
        ResolveAsync(context.Request.Cookies[CookieName], context.RequestAborted);

    public async ValueTask<SessionUser?> ResolveAsync(string? cookieValue, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(cookieValue) || cookieValue.Length > 100)
        {
            return null;
        }

        var id = HashOf(cookieValue);
        if (cache.TryGetValue(id, out var cached))
        {
            return cached is SessionUser user && user.ExpiresAt > time.GetUtcNow() ? user : null;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var session = await db.UserSessions.AsNoTracking().FirstOrDefaultAsync(s => s.Id == id, cancellationToken);
        var resolved = session is { RevokedAt: null } && session.ExpiresAt > time.GetUtcNow()
            ? new SessionUser(session.Id, session.Email, session.Name, session.Groups, session.ExpiresAt) { Subject = session.Subject ?? session.Email }
            : null;

        // Misses are cached too, so a flood of bogus cookies does not become a flood of queries.
        cache.Set(id, (object?)resolved ?? s_none, CacheDuration);
        return resolved;
    }

    /// <summary>
    /// Revokes every session of the user behind this cookie ("sign out everywhere"); returns that user's email and the
    /// protected ID token of this session (OpenID Connect sign-ins only), for signing out at the provider.
    /// </summary>
    public async Task<(string Email, string? ProtectedIdpIdToken)?> RevokeAllAsync(string? cookieValue, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(cookieValue) || cookieValue.Length > 100)
        {
            return null;
        }

        var id = HashOf(cookieValue);
        cache.Remove(id);
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var signedOut = await db.UserSessions.Where(s => s.Id == id).Select(s => new { s.Email, s.ProtectedIdpIdToken }).FirstOrDefaultAsync(cancellationToken);
        if (signedOut is null)
        {
            return null;
        }

        var sessionIds = await db.UserSessions.Where(s => s.Email == signedOut.Email && s.RevokedAt == null).Select(s => s.Id).ToListAsync(cancellationToken);
        await RevokeAsync(db, sessionIds, cancellationToken);
        return (signedOut.Email, signedOut.ProtectedIdpIdToken);
    }

    /// <summary>Revokes one session, for example when its identity provider no longer vouches for the user.</summary>
    public async Task RevokeSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        await RevokeAsync(db, [sessionId], cancellationToken);
    }

    /// <summary>
    /// Keeps asking the identity provider about an OpenID Connect session until at least <paramref name="until"/>:
    /// MCP clients hold grants from the session that outlive the browser session, and those grants must end when the
    /// provider stops vouching for the user. Sessions of the built-in provider (no <c>IdpCheckUntil</c>) are left alone.
    /// </summary>
    public async Task ExtendIdpCheckAsync(string sessionId, DateTimeOffset until, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        await db.UserSessions.Where(s => s.Id == sessionId && s.IdpCheckUntil != null && s.IdpCheckUntil < until)
            .ExecuteUpdateAsync(set => set.SetProperty(s => s.IdpCheckUntil, until), cancellationToken);
    }

    /// <summary>
    /// Marks the sessions revoked and records them in the revocation list: tokens that MCP clients obtained through
    /// these sessions (they carry the session id as <c>sid</c>) stop working too, on every replica within seconds.
    /// </summary>
    private async Task RevokeAsync(GatehouseDbContext db, List<string> sessionIds, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await db.UserSessions.Where(s => sessionIds.Contains(s.Id) && s.RevokedAt == null)
            .ExecuteUpdateAsync(set => set.SetProperty(s => s.RevokedAt, now), cancellationToken);
        foreach (var id in sessionIds)
        {
            cache.Remove(id);
        }

        var grantsEnd = now + state.Current.Config.AuthorizationServer.RefreshTokenLifetime;
        await revocations.RevokeAsync(sessionIds.Select(id => (RevocationKinds.Session, id)), grantsEnd, cancellationToken);
    }

    internal static string HashOf(string cookieValue) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cookieValue)));

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
