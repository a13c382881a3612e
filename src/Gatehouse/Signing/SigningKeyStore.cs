using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Hosting;
using Gatehouse.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Signing;

/// <summary>
/// The ES256 keys Gatehouse signs with (identity assertions now, access tokens later). Keys live in the database,
/// private halves protected with Data Protection, so every replica signs with the same key and publishes the same
/// JWKS. Reads are served from an immutable in-memory snapshot; the database is read only at start-up and by
/// <see cref="SigningKeyRefresher"/>.
/// </summary>
/// <remarks>
/// Lifecycle of a key: created with <c>NotBefore</c> an hour ahead (the first key: now) so that JWKS caches learn
/// it before any token carries it; signs until <c>RetireAfter</c>; then stays in the JWKS for
/// <see cref="PublishAfterRetirement"/>, longer than any token it signed can live.
/// </remarks>
internal sealed partial class SigningKeyStore(
    IServiceScopeFactory scopes, IDataProtectionProvider dataProtection, TimeProvider time, SigningKeyOptions options, ILogger<SigningKeyStore> logger) : IDisposable
{
    public const string Algorithm = "ES256";

    /// <summary>How long a key signs.</summary>
    public static readonly TimeSpan SigningLifetime = TimeSpan.FromDays(90);

    /// <summary>A successor is made this long before the current key retires.</summary>
    public static readonly TimeSpan RotateBefore = TimeSpan.FromDays(7);

    /// <summary>A successor is published this long before it signs: far beyond the JWKS Cache-Control max-age.</summary>
    public static readonly TimeSpan PublishBeforeUse = TimeSpan.FromHours(1);

    /// <summary>
    /// Replicas' clocks differ a little: a key whose NotBefore is this close is treated as usable, so a replica
    /// whose clock is behind the one that created the first key does not decide there is no key and make another.
    /// </summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>Longest lifetime of anything signed (refresh-free tokens and assertions are far shorter).</summary>
    public static readonly TimeSpan PublishAfterRetirement = TimeSpan.FromDays(1);

    private readonly IDataProtector _protector = dataProtection.CreateProtector("Gatehouse.Signing.SigningKeys.v1");
    private readonly Lock _cacheLock = new();
    private readonly Dictionary<string, ECDsa> _loaded = new(StringComparer.Ordinal);
    private volatile SigningKeySnapshot? _snapshot;
    private List<LoadedKey>? _configured;

    /// <summary>
    /// Signature providers for these keys. IdentityModel's default factory caches providers process-wide by key, and
    /// the keys are disposed with this store: a second gateway in the same process (tests, a restart in place) would
    /// otherwise be handed a provider holding a disposed key.
    /// </summary>
    public Microsoft.IdentityModel.Tokens.CryptoProviderFactory CryptoProviders { get; } = new();

    /// <summary>Raised after every refresh that changed the keys in force, for caches built from them.</summary>
    public event Action<SigningKeySnapshot>? Changed;

    /// <summary>The keys in force. Loaded at start-up, before the listener opens.</summary>
    public SigningKeySnapshot Current => _snapshot ?? throw new InvalidOperationException("The signing keys are not loaded: storage start-up has not finished.");

    /// <summary>Re-reads the keys, creating the first key or a successor when one is due.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        if (options.KeyFile is { } keyFile)
        {
            // Keys from the configuration sign; stored keys stay published until the tokens they signed expire.
            _configured ??= ConfiguredSigningKeys.Load(keyFile)
                .Select((k, i) => new LoadedKey(KeyId(k), int.MaxValue - i, DateTimeOffset.MinValue, DateTimeOffset.MaxValue, k)).ToList();
            var (stored, _) = await ReadAsync(cancellationToken);
            var at = time.GetUtcNow();
            Publish(BuildSnapshot(_configured[0], [.. _configured, .. stored.Where(k => at < k.RetireAfter + PublishAfterRetirement)]));
            return;
        }

        var (keys, lastGeneration) = await ReadAsync(cancellationToken);
        var now = time.GetUtcNow();
        var active = FindActive(keys, now);
        var hasSuccessor = active is not null && keys.Any(k => k.Generation > active.Generation);
        if (active is null || (!hasSuccessor && active.RetireAfter - now <= RotateBefore))
        {
            // Counted over every row, also rows this replica cannot decrypt, so the insert cannot collide with them.
            var generation = lastGeneration + 1;
            var notBefore = active is null ? now : now + PublishBeforeUse;
            if (await TryCreateAsync(generation, now, notBefore, cancellationToken) is { } created)
            {
                LogCreated(logger, created.Id, generation, notBefore);
            }

            // Whether this replica won the insert or another did, the database now has the key: read it back.
            (keys, _) = await ReadAsync(cancellationToken);
            now = time.GetUtcNow();
            active = FindActive(keys, now);
        }

        if (active is null)
        {
            throw new InvalidOperationException("No usable signing key in storage and none could be created; check that the Data Protection keys are intact.");
        }

        var published = keys.Where(k => now < k.RetireAfter + PublishAfterRetirement).OrderByDescending(k => k.Generation).ToList();
        Publish(BuildSnapshot(active, published));
    }

    private void Publish(SigningKeySnapshot snapshot)
    {
        var previous = _snapshot;
        _snapshot = snapshot;
        if (previous is null || previous.KeyId != snapshot.KeyId || !previous.PublishedKeyIds.SequenceEqual(snapshot.PublishedKeyIds))
        {
            Changed?.Invoke(snapshot);
        }
    }

    public void Dispose()
    {
        lock (_cacheLock)
        {
            foreach (var key in _loaded.Values.Concat(_configured?.Select(k => k.Key) ?? []))
            {
                key.Dispose();
            }

            _loaded.Clear();
        }
    }

    private async Task<(List<LoadedKey> Usable, int LastGeneration)> ReadAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var rows = await db.SigningKeys.AsNoTracking().ToListAsync(cancellationToken);
        var keys = new List<LoadedKey>(rows.Count);
        foreach (var row in rows)
        {
            if (Load(row) is { } ecdsa)
            {
                keys.Add(new LoadedKey(row.Id, row.Generation, row.NotBefore, row.RetireAfter, ecdsa));
            }
        }

        return (keys, rows.Count == 0 ? 0 : rows.Max(r => r.Generation));
    }

    private ECDsa? Load(SigningKey row)
    {
        lock (_cacheLock)
        {
            // Keys never change once written; keep the objects so a signer in flight never sees one disposed.
            if (_loaded.TryGetValue(row.Id, out var cached))
            {
                return cached;
            }
        }

        if (row.Algorithm != Algorithm)
        {
            LogUnusable(logger, row.Id, $"algorithm {row.Algorithm} is not supported");
            return null;
        }

        byte[] pkcs8;
        try
        {
            pkcs8 = _protector.Unprotect(Convert.FromBase64String(row.ProtectedPrivateKey));
        }
        catch (CryptographicException ex)
        {
            LogUnusable(logger, row.Id, "its Data Protection key is missing: " + ex.Message);
            return null;
        }

        var ecdsa = ECDsa.Create();
        ecdsa.ImportPkcs8PrivateKey(pkcs8, out _);
        CryptographicOperations.ZeroMemory(pkcs8);
        lock (_cacheLock)
        {
            if (_loaded.TryAdd(row.Id, ecdsa))
            {
                return ecdsa;
            }
        }

        ecdsa.Dispose();
        lock (_cacheLock)
        {
            return _loaded[row.Id];
        }
    }

    private async Task<SigningKey?> TryCreateAsync(int generation, DateTimeOffset now, DateTimeOffset notBefore, CancellationToken cancellationToken)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var pkcs8 = ecdsa.ExportPkcs8PrivateKey();
        var row = new SigningKey
        {
            Id = KeyId(ecdsa),
            Generation = generation,
            Algorithm = Algorithm,
            CreatedAt = now,
            NotBefore = notBefore,
            RetireAfter = notBefore + SigningLifetime,
            ProtectedPrivateKey = Convert.ToBase64String(_protector.Protect(pkcs8)),
        };
        CryptographicOperations.ZeroMemory(pkcs8);

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();

        // ON CONFLICT DO NOTHING (PostgreSQL, and SQLite since 3.24) rather than catching a unique violation: losing
        // the race to another replica is expected, and EF Core would log the exception as an error.
        var inserted = await db.Database.ExecuteSqlAsync($"""
            INSERT INTO "SigningKeys" ("Id", "Generation", "Algorithm", "CreatedAt", "NotBefore", "RetireAfter", "ProtectedPrivateKey")
            VALUES ({row.Id}, {row.Generation}, {row.Algorithm}, {row.CreatedAt}, {row.NotBefore}, {row.RetireAfter}, {row.ProtectedPrivateKey})
            ON CONFLICT DO NOTHING
            """, cancellationToken);
        if (inserted == 1)
        {
            return row;
        }

        LogLostRace(logger, generation);
        return null;
    }

    private static LoadedKey? FindActive(List<LoadedKey> keys, DateTimeOffset now) =>
        keys.Where(k => k.NotBefore - ClockSkew <= now && now < k.RetireAfter).MaxBy(k => k.Generation);

    /// <summary>RFC 7638 JWK thumbprint: stable, derived from the public key alone.</summary>
    private static string KeyId(ECDsa ecdsa)
    {
        var p = ecdsa.ExportParameters(includePrivateParameters: false);
        var canonical = $$"""{"crv":"P-256","kty":"EC","x":"{{WebEncoders.Base64UrlEncode(p.Q.X!)}}","y":"{{WebEncoders.Base64UrlEncode(p.Q.Y!)}}"}""";
        return WebEncoders.Base64UrlEncode(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(canonical)));
    }

    private static SigningKeySnapshot BuildSnapshot(LoadedKey active, List<LoadedKey> published)
    {
        var jwks = new JsonWebKeySet(published.Select(k =>
        {
            var p = k.Key.ExportParameters(includePrivateParameters: false);
            return new JsonWebKey("EC", "sig", Algorithm, k.Id, "P-256", WebEncoders.Base64UrlEncode(p.Q.X!), WebEncoders.Base64UrlEncode(p.Q.Y!));
        }).ToList());
        var json = JsonSerializer.SerializeToUtf8Bytes(jwks, GatehouseJsonContext.Default.JsonWebKeySet);
        return new SigningKeySnapshot(active.Id, active.Key, published.Select(k => k.Id).ToList(), json,
            published.DistinctBy(k => k.Id).ToFrozenDictionary(k => k.Id, k => k.Key, StringComparer.Ordinal));
    }

    private sealed record LoadedKey(string Id, int Generation, DateTimeOffset NotBefore, DateTimeOffset RetireAfter, ECDsa Key);

    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "Created signing key {KeyId} (generation {Generation}), used from {NotBefore}")]
    private static partial void LogCreated(ILogger logger, string keyId, int generation, DateTimeOffset notBefore);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Another replica created signing key generation {Generation} first; using its key")]
    private static partial void LogLostRace(ILogger logger, int generation);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Error, Message = "Signing key {KeyId} cannot be used: {Reason}")]
    private static partial void LogUnusable(ILogger logger, string keyId, string reason);
}

/// <summary>The keys in force at one moment: the one to sign with and the serialised JWKS of all published keys.</summary>
internal sealed class SigningKeySnapshot(
    string keyId, ECDsa signingKey, IReadOnlyList<string> publishedKeyIds, byte[] jwksJson, FrozenDictionary<string, ECDsa> publishedKeys)
{
    /// <summary>Every published key by <c>kid</c>, to verify what Gatehouse signed. Shared: do not dispose.</summary>
    public FrozenDictionary<string, ECDsa> PublishedKeys { get; } = publishedKeys;

    public string KeyId { get; } = keyId;

    /// <summary>The private key for ES256 (P-256, SHA-256) signatures. Shared: do not dispose.</summary>
    public ECDsa SigningKey { get; } = signingKey;

    public IReadOnlyList<string> PublishedKeyIds { get; } = publishedKeyIds;

    /// <summary>RFC 7517 JSON Web Key Set, serialised once per refresh rather than once per request.</summary>
    public ReadOnlyMemory<byte> JwksJson { get; } = jwksJson;
}

/// <summary>RFC 7517 §5.</summary>
internal sealed record JsonWebKeySet(IReadOnlyList<JsonWebKey> Keys);

/// <summary>RFC 7517 §4 with the EC members of RFC 7518 §6.2.1.</summary>
internal sealed record JsonWebKey(string Kty, string Use, string Alg, string Kid, string Crv, string X, string Y);

/// <summary>Where signing keys come from: the configuration's key file, else the database.</summary>
internal sealed record SigningKeyOptions(string? KeyFile);
