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
            // "Sign out everywhere" revokes every session of one user.
            session.HasIndex(s => s.Email);
        });

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
