using Gatehouse.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Upstream;

/// <summary>
/// The token vault: one user's upstream token set (TI) for one route's upstream resource. The tokens are one Data
/// Protection payload (<see cref="ProtectedTokens"/>); the columns beside it hold only what is needed to find,
/// refresh and revoke them, none of it secret.
/// </summary>
internal sealed class UpstreamToken
{
    public long Id { get; set; }

    /// <summary>The Gatehouse user's stable id (<c>sub</c>).</summary>
    public required string Subject { get; set; }

    public required string RouteId { get; set; }

    /// <summary>The upstream's RFC 9728 <c>resource</c>, or its URL for fixed endpoints.</summary>
    public required string ResourceKey { get; set; }

    public required string Issuer { get; set; }

    public required string TokenEndpoint { get; set; }

    public string? RevocationEndpoint { get; set; }

    public required string ClientId { get; set; }

    public UpstreamClientKind ClientKind { get; set; }

    /// <summary><c>client_secret_basic</c>, <c>client_secret_post</c> or <c>none</c>; null: try Basic, then the body.</summary>
    public string? AuthMethod { get; set; }

    /// <summary>The RFC 8707 resource sent with the code and refresh requests, when one is.</summary>
    public string? Resource { get; set; }

    /// <summary>Scopes granted (or asked for); widened when the upstream answers <c>insufficient_scope</c>.</summary>
    public string Scopes { get; set; } = "";

    /// <summary><see cref="StoredTokenSet"/> as JSON, protected with Data Protection.</summary>
    public required string ProtectedTokens { get; set; }

    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>The refresh token stopped working (<c>invalid_grant</c>): the user must connect again.</summary>
    public bool Disconnected { get; set; }

    /// <summary>One replica at a time refreshes a record: it holds this lease while it does (docs/upstream-oauth.md).</summary>
    public DateTimeOffset? RefreshLeaseUntil { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>
/// A registration Gatehouse made at an upstream authorization server (RFC 7591), shared by every replica so that an
/// issuer sees one client per redirect URI rather than one per replica and restart.
/// </summary>
internal sealed class UpstreamClientRegistration
{
    public required string Issuer { get; set; }

    public required string RedirectUri { get; set; }

    public required string ClientId { get; set; }

    /// <summary>The client secret, protected with Data Protection; null for a public client.</summary>
    public string? ProtectedSecret { get; set; }

    public string? AuthMethod { get; set; }

    /// <summary>RFC 7591 §3.2.1 <c>client_secret_expires_at</c>; null when it does not expire.</summary>
    public DateTimeOffset? SecretExpiresAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

internal static class UpstreamModel
{
    public static void Configure(ModelBuilder modelBuilder)
    {
        modelBuilder.Entity<UpstreamToken>(token =>
        {
            token.ToTable("UpstreamTokens");
            token.HasKey(t => t.Id);
            token.Property(t => t.Subject).HasMaxLength(320);
            token.Property(t => t.RouteId).HasMaxLength(200);
            token.Property(t => t.ResourceKey).HasMaxLength(1000);
            token.Property(t => t.Issuer).HasMaxLength(1000);
            token.Property(t => t.TokenEndpoint).HasMaxLength(1000);
            token.Property(t => t.RevocationEndpoint).HasMaxLength(1000);
            token.Property(t => t.ClientId).HasMaxLength(1000);
            token.Property(t => t.ClientKind).HasConversion<string>().HasMaxLength(32);
            token.Property(t => t.AuthMethod).HasMaxLength(64);
            token.Property(t => t.Resource).HasMaxLength(1000);
            token.Property(t => t.Scopes).HasMaxLength(2000);
            token.Property(t => t.ExpiresAt).HasConversion(UnixMilliseconds.Nullable);
            token.Property(t => t.RefreshLeaseUntil).HasConversion(UnixMilliseconds.Nullable);
            token.Property(t => t.UpdatedAt).HasConversion(UnixMilliseconds.Converter);
            token.HasIndex(t => new { t.Subject, t.RouteId, t.ResourceKey }).IsUnique();
        });

        modelBuilder.Entity<UpstreamClientRegistration>(registration =>
        {
            registration.ToTable("UpstreamClientRegistrations");
            registration.HasKey(r => new { r.Issuer, r.RedirectUri });
            registration.Property(r => r.Issuer).HasMaxLength(500);
            registration.Property(r => r.RedirectUri).HasMaxLength(500);
            registration.Property(r => r.ClientId).HasMaxLength(1000);
            registration.Property(r => r.AuthMethod).HasMaxLength(64);
            registration.Property(r => r.SecretExpiresAt).HasConversion(UnixMilliseconds.Nullable);
            registration.Property(r => r.CreatedAt).HasConversion(UnixMilliseconds.Converter);
        });
    }
}
