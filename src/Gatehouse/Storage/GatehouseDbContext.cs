using Gatehouse.Audit;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage;

/// <summary>
/// Everything Gatehouse keeps: OpenIddict's applications, authorizations, scopes and tokens (default entities, so
/// the authorization server can plug in with <c>UseEntityFrameworkCore().UseDbContext&lt;GatehouseDbContext&gt;()</c>),
/// the ASP.NET Core Data Protection key ring shared by every replica, and the token signing keys.
/// </summary>
/// <remarks>
/// Abstract because each provider has its own derived context and its own migrations
/// (<see cref="SqliteGatehouseDbContext"/>, <see cref="PostgresGatehouseDbContext"/>): SQL types and migration
/// operations differ per provider, so one migration set cannot serve both. Services ask for this base type.
/// See docs/adr/0004-storage.md.
/// </remarks>
internal abstract class GatehouseDbContext(DbContextOptions options) : DbContext(options), IDataProtectionKeyContext
{
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    public DbSet<SigningKey> SigningKeys => Set<SigningKey>();

    public DbSet<UserSession> UserSessions => Set<UserSession>();

    public DbSet<LoginLockout> LoginLockouts => Set<LoginLockout>();

    public DbSet<Revocation> Revocations => Set<Revocation>();

    public DbSet<UserConsent> UserConsents => Set<UserConsent>();

    public DbSet<ServiceAccount> ServiceAccounts => Set<ServiceAccount>();

    public DbSet<ServerSecret> ServerSecrets => Set<ServerSecret>();

    public DbSet<AuditEntry> AuditRecords => Set<AuditEntry>();

    public DbSet<Upstream.UpstreamToken> UpstreamTokens => Set<Upstream.UpstreamToken>();

    public DbSet<Upstream.UpstreamClientRegistration> UpstreamClientRegistrations => Set<Upstream.UpstreamClientRegistration>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);

        // In the model itself rather than through DbContextOptionsBuilder.UseOpenIddict(): the design-time
        // factories that generate migrations then see exactly the model the gateway runs with.
        modelBuilder.UseOpenIddict();

        modelBuilder.Entity<SigningKey>(key =>
        {
            key.ToTable("SigningKeys");
            key.HasKey(k => k.Id);
            key.Property(k => k.Id).HasMaxLength(64);
            key.Property(k => k.Algorithm).HasMaxLength(16);
            key.Property(k => k.ProtectedPrivateKey).IsRequired();

            // The unique generation is what makes "generate once" safe when replicas start together: both try to
            // insert generation N, one insert fails, and that replica re-reads and uses the winner's key.
            key.HasIndex(k => k.Generation).IsUnique();
        });

        modelBuilder.Entity<UserSession>(session =>
        {
            session.ToTable("UserSessions");
            session.HasKey(s => s.Id);
            session.Property(s => s.Id).HasMaxLength(64);
            session.Property(s => s.Email).HasMaxLength(320);
            session.Property(s => s.Name).HasMaxLength(320);
            session.Property(s => s.Subject).HasMaxLength(320);
            session.Property(s => s.IdpAccessTokenExpiresAt).HasConversion(UnixMilliseconds.Nullable);
            session.Property(s => s.IdpRefreshLeaseUntil).HasConversion(UnixMilliseconds.Nullable);
            session.Property(s => s.IdpCheckUntil).HasConversion(UnixMilliseconds.Nullable);
            // "Sign out everywhere" revokes every session of one user.
            session.HasIndex(s => s.Email);
            // The IdP refresher looks for sessions whose upstream tokens are about to expire.
            session.HasIndex(s => s.IdpAccessTokenExpiresAt);
        });

        modelBuilder.Entity<Revocation>(revocation =>
        {
            revocation.ToTable("Revocations");
            revocation.HasKey(r => r.Id);
            revocation.Property(r => r.Kind).HasMaxLength(32);
            revocation.Property(r => r.Value).HasMaxLength(200);
            revocation.Property(r => r.RevokedAt).HasConversion(UnixMilliseconds.Converter);
            revocation.Property(r => r.ExpiresAt).HasConversion(UnixMilliseconds.Converter);
            revocation.HasIndex(r => new { r.Kind, r.Value }).IsUnique();
            // Replicas poll for what was revoked since their last look.
            revocation.HasIndex(r => r.RevokedAt);
            revocation.HasIndex(r => r.ExpiresAt);
        });

        modelBuilder.Entity<UserConsent>(consent =>
        {
            consent.ToTable("UserConsents");
            consent.HasKey(c => new { c.Subject, c.ClientId });
            consent.Property(c => c.Subject).HasMaxLength(320);
            consent.Property(c => c.ClientId).HasMaxLength(1000);
            consent.Property(c => c.ClientName).HasMaxLength(200);
        });

        modelBuilder.Entity<ServerSecret>(secret =>
        {
            secret.ToTable("ServerSecrets");
            secret.HasKey(s => s.Name);
            secret.Property(s => s.Name).HasMaxLength(64);
        });

        modelBuilder.Entity<ServiceAccount>(account =>
        {
            account.ToTable("ServiceAccounts");
            account.HasKey(a => a.Id);
            account.Property(a => a.Id).HasMaxLength(32);
            account.Property(a => a.Email).HasMaxLength(320);
            account.Property(a => a.Description).HasMaxLength(200);
            account.Property(a => a.SecretHash).HasMaxLength(64);
        });

        modelBuilder.Entity<AuditEntry>(entry =>
        {
            // Append-only (docs/audit.md): inserted in batches by the writer, deleted by retention, never updated.
            entry.ToTable("AuditRecords");
            entry.HasKey(e => e.Id);
            entry.Property(e => e.Time).HasConversion(UnixMilliseconds.Converter);
            entry.Property(e => e.RequestId).HasMaxLength(AuditEntry.RequestIdLength);
            entry.Property(e => e.Subject).HasMaxLength(AuditEntry.UserLength);
            entry.Property(e => e.Email).HasMaxLength(AuditEntry.UserLength);
            entry.Property(e => e.ClientId).HasMaxLength(AuditEntry.ClientIdLength);
            entry.Property(e => e.Route).HasMaxLength(AuditEntry.RouteLength);
            entry.Property(e => e.SessionId).HasMaxLength(AuditEntry.SessionIdLength);
            entry.Property(e => e.JsonRpcId).HasMaxLength(AuditEntry.JsonRpcIdLength);
            entry.Property(e => e.Method).HasMaxLength(AuditEntry.MethodLength);
            entry.Property(e => e.Target).HasMaxLength(AuditEntry.TargetLength);
            entry.Property(e => e.Rule).HasMaxLength(AuditEntry.RuleLength);
            entry.Property(e => e.Decision).HasMaxLength(AuditEntry.DecisionLength)
                .HasConversion(d => AuditDecisions.ToText(d), text => AuditDecisions.Parse(text));

            // Every index is updated on every insert, one per audited MCP message, on the proxy's CPU (docs/performance.md,
            // "Policy and audit cost"), so only what `gatehouse audit` cannot answer from the time index in reasonable
            // time is indexed: retention and --since by time; --user (one user among many); a denial's data.request_id;
            // and decisions other than "allowed" (rare, and the usual question) in a partial index that allowed
            // records, most of them, do not pay for. --route and --tool read the time index newest first and filter.
            entry.HasIndex(e => e.Time);
            entry.HasIndex(e => new { e.Email, e.Time });
            entry.HasIndex(e => e.RequestId);
            entry.HasIndex(e => new { e.Decision, e.Time }).HasFilter(AuditEntry.NotAllowedFilter);
        });

        Upstream.UpstreamModel.Configure(modelBuilder);

        modelBuilder.Entity<LoginLockout>(lockout =>
        {
            lockout.ToTable("LoginLockouts");
            lockout.HasKey(l => l.Email);
            lockout.Property(l => l.Email).HasMaxLength(320);
        });
    }
}

/// <summary>
/// A signed-in browser session. The cookie holds a 256-bit random value; only its SHA-256 is stored, so a copy of
/// the database does not let anyone impersonate a signed-in user.
/// </summary>
internal sealed class UserSession
{
    /// <summary>Lower-case hex SHA-256 of the cookie value.</summary>
    public required string Id { get; set; }

    /// <summary>The user's email, lower-case.</summary>
    public required string Email { get; set; }

    public required string Name { get; set; }

    public List<string> Groups { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    /// <summary>Set on sign-out; a revoked session never resolves again.</summary>
    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>The user's stable id: the email for built-in users, the provider's <c>sub</c> for OpenID Connect.</summary>
    public string? Subject { get; set; }

    /// <summary>The OpenID Connect provider's refresh token, protected with Data Protection; null for built-in users.</summary>
    public string? ProtectedIdpRefreshToken { get; set; }

    /// <summary>
    /// The OpenID Connect provider's ID token from sign-in, protected with Data Protection: sent back as
    /// <c>id_token_hint</c> when the user signs out, so the provider ends its own session without asking who is
    /// leaving (OpenID Connect RP-Initiated Logout 1.0 §2). Null for built-in users.
    /// </summary>
    public string? ProtectedIdpIdToken { get; set; }

    /// <summary>When the provider's access token expires: the session is re-checked with the provider before then.</summary>
    public DateTimeOffset? IdpAccessTokenExpiresAt { get; set; }

    /// <summary>One replica at a time refreshes a session's provider tokens: it holds this lease while it does.</summary>
    public DateTimeOffset? IdpRefreshLeaseUntil { get; set; }

    /// <summary>
    /// Until when the provider is asked whether the user is still valid: the session's end, or later when MCP
    /// clients hold grants from this session (they outlive the browser session).
    /// </summary>
    public DateTimeOffset? IdpCheckUntil { get; set; }
}

/// <summary>
/// Instants that queries compare are stored as Unix milliseconds: SQLite has no date type, and EF Core cannot
/// translate comparisons of DateTimeOffset stored as text there. Both providers use the same form.
/// </summary>
internal static class UnixMilliseconds
{
    public static readonly Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTimeOffset, long> Converter =
        new(value => value.ToUnixTimeMilliseconds(), value => DateTimeOffset.FromUnixTimeMilliseconds(value));

    public static readonly Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTimeOffset?, long?> Nullable =
        new(value => value.HasValue ? value.Value.ToUnixTimeMilliseconds() : null, value => value.HasValue ? DateTimeOffset.FromUnixTimeMilliseconds(value.Value) : null);
}

/// <summary>
/// Something revoked before it expired: a token, a whole authorization (a refresh-token family), a browser session
/// or a service account. Every replica loads these into memory and polls for new ones, so a revocation takes effect
/// everywhere within seconds without a database query per request. Rows go once what they revoke has expired.
/// </summary>
internal sealed class Revocation
{
    public long Id { get; set; }

    /// <summary>One of <see cref="RevocationKinds"/>.</summary>
    public required string Kind { get; set; }

    /// <summary>The revoked id: token id, authorization id, session id or service account id.</summary>
    public required string Value { get; set; }

    public DateTimeOffset RevokedAt { get; set; }

    /// <summary>After this instant nothing that carries the id can still be valid, so the row can go.</summary>
    public DateTimeOffset ExpiresAt { get; set; }
}

internal static class RevocationKinds
{
    public const string Token = "token";
    public const string Authorization = "authorization";
    public const string Session = "session";
    public const string ServiceAccount = "service_account";
}

/// <summary>
/// A user's consent to an OAuth client (MCP authorization, "Confused Deputy Problem": consent per client per user).
/// Remembered until revoked on the connected-apps page.
/// </summary>
internal sealed class UserConsent
{
    public required string Subject { get; set; }

    public required string ClientId { get; set; }

    /// <summary>The client's name when the user consented, for the connected-apps page.</summary>
    public required string ClientName { get; set; }

    /// <summary>The resources (MCP server URLs) the user let this client reach.</summary>
    public List<string> Resources { get; set; } = [];

    public DateTimeOffset GrantedAt { get; set; }

    public DateTimeOffset LastUsedAt { get; set; }
}

/// <summary>
/// A service account: a bearer token for agents and CI that acts as a user, without a browser. The token is
/// <c>gatehouse_sa_{Id}_{secret}</c>, printed once; only the SHA-256 of its 256-bit random secret is stored (a slow
/// hash would add nothing for a secret that cannot be guessed, and would cost on every request).
/// </summary>
internal sealed class ServiceAccount
{
    public required string Id { get; set; }

    /// <summary>Lower-case hex SHA-256 of the token's secret part.</summary>
    public required string SecretHash { get; set; }

    /// <summary>The user the token acts as (policies see this email).</summary>
    public required string Email { get; set; }

    public List<string> Groups { get; set; } = [];

    /// <summary>MCP server route names the token is valid for; empty means every MCP server route.</summary>
    public List<string> Routes { get; set; } = [];

    public string? Description { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>
/// Failed sign-in attempts for one email (known or not, so that lock-out reveals nothing about who exists), kept in
/// the database so that every replica counts the same attempts.
/// </summary>
internal sealed class LoginLockout
{
    /// <summary>The email as typed, trimmed and lower-cased.</summary>
    public required string Email { get; set; }

    public int FailedAttempts { get; set; }

    public DateTimeOffset? LockedUntil { get; set; }
}

/// <summary>A token signing key. The private key is stored only as a Data Protection payload.</summary>
internal sealed class SigningKey
{
    /// <summary>The JWK <c>kid</c>.</summary>
    public required string Id { get; set; }

    /// <summary>1 for the first key, +1 per rotation; unique.</summary>
    public int Generation { get; set; }

    /// <summary>JWS algorithm (RFC 7518), <c>ES256</c>.</summary>
    public required string Algorithm { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Not used for signing before this instant, so that JWKS caches learn the key first.</summary>
    public DateTimeOffset NotBefore { get; set; }

    /// <summary>Not used for signing from this instant; still published until its tokens have expired.</summary>
    public DateTimeOffset RetireAfter { get; set; }

    /// <summary>The PKCS#8 private key, protected with Data Protection.</summary>
    public required string ProtectedPrivateKey { get; set; }
}

/// <summary>
/// A secret the gateway generates once and every replica shares, such as the key that encrypts authorization codes
/// and refresh tokens. Stored only as a Data Protection payload.
/// </summary>
internal sealed class ServerSecret
{
    public required string Name { get; set; }

    public required string ProtectedValue { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
