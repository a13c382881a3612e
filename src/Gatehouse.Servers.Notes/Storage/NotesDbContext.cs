using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Servers.Notes.Storage;

/// <summary>
/// Everything the Notes server keeps, in one SQLite file: the users' notes, OpenIddict's applications,
/// authorizations (consents) and tokens, the Data Protection key ring (sign-in cookie, antiforgery) and the
/// keys of the authorization server.
/// </summary>
internal sealed class NotesDbContext(DbContextOptions<NotesDbContext> options) : DbContext(options), IDataProtectionKeyContext
{
    public DbSet<Note> Notes => Set<Note>();

    public DbSet<ServerKey> ServerKeys => Set<ServerKey>();

    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.UseOpenIddict();

        modelBuilder.Entity<Note>(note =>
        {
            note.ToTable("Notes");
            note.HasKey(n => n.Id);
            note.Property(n => n.Id).HasMaxLength(32);
            note.Property(n => n.Owner).HasMaxLength(254);
            note.Property(n => n.Title).HasMaxLength(Note.MaxTitleLength);
            // Milliseconds since the epoch: SQLite cannot order DateTimeOffset values.
            note.Property(n => n.CreatedAt).HasConversion(v => v.ToUnixTimeMilliseconds(), v => DateTimeOffset.FromUnixTimeMilliseconds(v));
            note.HasIndex(n => new { n.Owner, n.CreatedAt });
        });

        modelBuilder.Entity<ServerKey>(key =>
        {
            key.ToTable("ServerKeys");
            key.HasKey(k => k.Name);
            key.Property(k => k.Name).HasMaxLength(64);
        });
    }
}

/// <summary>One note, owned by one user (by email, in lower case).</summary>
internal sealed class Note
{
    public const int MaxTitleLength = 200;
    public const int MaxTextLength = 100_000;

    public required string Id { get; init; }

    public required string Owner { get; init; }

    public required string Title { get; init; }

    public required string Text { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>A key the server generated once and keeps: the token signing key, the token encryption key.</summary>
internal sealed class ServerKey
{
    public required string Name { get; init; }

    public required byte[] Value { get; init; }
}
