using System.Security.Cryptography;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Servers.Notes.Storage;

/// <summary>The SQLite file in the data directory, and the one place that creates it and its keys.</summary>
internal sealed class NotesDatabase
{
    public const string FileName = "notes.db";
    private const string SigningKeyName = "access-token-signing-es256";
    private const string EncryptionKeyName = "token-encryption-a256kw";

    public NotesDatabase(string dataDirectory)
    {
        DirectoryPath = Path.GetFullPath(dataDirectory);
        FullPath = Path.Combine(DirectoryPath, FileName);
        ConnectionString = new SqliteConnectionStringBuilder { DataSource = FullPath }.ToString();
    }

    public string DirectoryPath { get; }

    public string FullPath { get; }

    public string ConnectionString { get; }

    public void Configure(DbContextOptionsBuilder options) => options.UseSqlite(ConnectionString);

    /// <summary>
    /// Creates the database if the file is missing (readable by its owner only: it holds private keys), checks that
    /// an existing one is a Notes database, and returns the keys, generated on the first start and kept thereafter
    /// so that tokens survive a restart.
    /// </summary>
    public (NotesKeys Keys, bool Created) EnsureCreated()
    {
        Directory.CreateDirectory(DirectoryPath);
        var builder = new DbContextOptionsBuilder<NotesDbContext>();
        Configure(builder);
        using var db = new NotesDbContext(builder.Options);
        var created = db.Database.EnsureCreated();
        if (created)
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(FullPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            // Readers (tool calls, token checks) then never wait for a writer.
            db.Database.ExecuteSqlRaw("PRAGMA journal_mode=WAL;");
        }

        try
        {
            var signing = GetOrCreate(db, SigningKeyName, () =>
            {
                using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                return key.ExportPkcs8PrivateKey();
            });
            var encryption = GetOrCreate(db, EncryptionKeyName, () => RandomNumberGenerator.GetBytes(32));
            return (new NotesKeys(signing, encryption), created);
        }
        catch (SqliteException ex)
        {
            throw new InvalidOperationException(
                $"{FullPath} exists but is not a Notes database ({ex.Message}). Delete it, or set DataDirectory to another folder.", ex);
        }
    }

    private static byte[] GetOrCreate(NotesDbContext db, string name, Func<byte[]> generate)
    {
        if (db.ServerKeys.AsNoTracking().FirstOrDefault(k => k.Name == name) is { } existing)
        {
            return existing.Value;
        }

        db.ServerKeys.Add(new ServerKey { Name = name, Value = generate() });
        try
        {
            db.SaveChanges();
        }
        catch (DbUpdateException)
        {
            // Another process starting on the same folder stored its key first: use that one.
            db.ChangeTracker.Clear();
        }

        return db.ServerKeys.AsNoTracking().First(k => k.Name == name).Value;
    }
}

/// <summary>
/// The authorization server's keys: an ES256 key that signs access tokens (published in the JWKS, with a key id
/// derived from the public key, RFC 7638) and a 256-bit key that encrypts authorization codes and refresh tokens.
/// </summary>
internal sealed class NotesKeys : IDisposable
{
    private readonly ECDsa _signing;

    public NotesKeys(byte[] signingPkcs8, byte[] encryptionKey)
    {
        _signing = ECDsa.Create();
        _signing.ImportPkcs8PrivateKey(signingPkcs8, out _);
        // A factory of its own: the shared default caches signature providers by key id and thumbprint, so a second
        // server on the same data directory in this process would be handed a provider whose ECDsa this one disposed.
        SigningKey = new ECDsaSecurityKey(_signing) { CryptoProviderFactory = new CryptoProviderFactory() };
        SigningKey.KeyId = Base64UrlEncoder.Encode(JsonWebKeyConverter.ConvertFromECDsaSecurityKey(SigningKey).ComputeJwkThumbprint());
        EncryptionKey = new SymmetricSecurityKey(encryptionKey) { KeyId = "notes-token-encryption" };
    }

    public ECDsaSecurityKey SigningKey { get; }

    public SymmetricSecurityKey EncryptionKey { get; }

    public void Dispose() => _signing.Dispose();
}
