using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.ResourceServer;
using Gatehouse.Revocation;
using Gatehouse.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Caching.Memory;

namespace Gatehouse.ServiceAccounts;

/// <summary>
/// Service accounts: bearer tokens for agents and CI that act as a user on MCP server routes, without a browser.
/// A token is <c>gatehouse_sa_{id}_{secret}</c>; the database keeps the SHA-256 of the secret. A token is checked
/// against the database's hash when first seen (accounts are cached by id); after that, for a few minutes, a
/// request costs one lookup of the token in memory, like a cached access token, plus the checks that can change
/// (revocation, which reaches every replica through the revocation list within seconds, expiry and route).
/// </summary>
internal sealed class ServiceAccountStore(IServiceScopeFactory scopes, IMemoryCache cache, RevocationList revocations, TimeProvider time)
{
    public const string TokenPrefix = "gatehouse_sa_";
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromDays(30);
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(365);

    private static readonly TimeSpan s_cacheFor = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan s_missCacheFor = TimeSpan.FromSeconds(5);
    private static readonly object s_missing = new();

    /// <summary>More distinct live tokens than this and the token cache starts again: memory stays bounded.</summary>
    private const int MaxCachedTokens = 10_000;

    /// <summary>
    /// Tokens whose secret matched, with their account and the user they act as, looked up as a span of the
    /// Authorization header (no copy of the token, no SHA-256 per request). Only tokens with a valid secret get in, so
    /// guessing cannot fill it.
    /// </summary>
    private readonly ConcurrentDictionary<string, KnownToken>.AlternateLookup<ReadOnlySpan<char>> _known =
        new ConcurrentDictionary<string, KnownToken>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();

    public static bool LooksLikeToken(ReadOnlySpan<char> token) => token.StartsWith(TokenPrefix, StringComparison.Ordinal);

    /// <summary>Creates an account; the token is returned once and never stored.</summary>
    public async Task<(ServiceAccount Account, string Token)> CreateAsync(
        string email, IReadOnlyList<string> groups, IReadOnlyList<string> routes, TimeSpan lifetime, string? description, CancellationToken cancellationToken)
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var now = time.GetUtcNow();
        var account = new ServiceAccount
        {
            Id = id,
            SecretHash = Hash(secret),
            Email = email.ToLowerInvariant(),
            Groups = [.. groups],
            Routes = [.. routes],
            Description = description,
            CreatedAt = now,
            ExpiresAt = now + lifetime,
        };

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        db.ServiceAccounts.Add(account);
        await db.SaveChangesAsync(cancellationToken);
        return (account, $"{TokenPrefix}{id}_{secret}");
    }

    public async Task<List<ServiceAccount>> ListAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var accounts = await db.ServiceAccounts.AsNoTracking().ToListAsync(cancellationToken);
        return [.. accounts.OrderBy(a => a.CreatedAt)];
    }

    /// <summary>
    /// Revokes an active account: marks it in its row, and records it in the revocation list that every replica polls,
    /// so that gateways which cached the account refuse its token within one poll. An account that is unknown, already
    /// revoked or expired is left as it is, and the outcome says which.
    /// </summary>
    public async Task<(RevokeOutcome Outcome, ServiceAccount? Account)> RevokeAsync(string id, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var account = await db.ServiceAccounts.FirstOrDefaultAsync(a => a.Id == id, cancellationToken);
        var status = account is null ? (ServiceAccountStatus?)null : StatusOf(account, time.GetUtcNow());
        if (status != ServiceAccountStatus.Active)
        {
            return (status switch
            {
                ServiceAccountStatus.Revoked => RevokeOutcome.AlreadyRevoked,
                ServiceAccountStatus.Expired => RevokeOutcome.Expired,
                _ => RevokeOutcome.NotFound,
            }, account);
        }

        account!.RevokedAt = time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        await revocations.RevokeAsync(RevocationKinds.ServiceAccount, id, account.ExpiresAt, cancellationToken);
        cache.Remove(CacheKey(id));
        return (RevokeOutcome.Revoked, account);
    }

    public static ServiceAccountStatus StatusOf(ServiceAccount account, DateTimeOffset now) =>
        account.RevokedAt is not null ? ServiceAccountStatus.Revoked
        : account.ExpiresAt <= now ? ServiceAccountStatus.Expired
        : ServiceAccountStatus.Active;

    /// <summary>
    /// The account behind <paramref name="token"/> when it is valid for the route, else the reason it is not.
    /// Completes synchronously, without allocating, for a token seen in the last few minutes.
    /// </summary>
    public ValueTask<(GatewayUser? User, TokenRejection? Rejection)> ValidateAsync(ReadOnlySpan<char> token, string routeId) =>
        _known.TryGetValue(token, out var known) && known.RecheckAt > time.GetUtcNow()
            ? ValueTask.FromResult(Check(known, routeId))
            : ValidateNewAsync(token.ToString(), routeId);

    /// <summary>A token not seen recently: its secret against the account's hash, then the per-request checks.</summary>
    private async ValueTask<(GatewayUser? User, TokenRejection? Rejection)> ValidateNewAsync(string token, string routeId)
    {
        // gatehouse_sa_{16 hex}_{43 base64url}
        var rest = token.AsSpan(TokenPrefix.Length);
        var separator = rest.IndexOf('_');
        if (separator != 16 || rest.Length - separator - 1 != 43)
        {
            return (null, new TokenRejection("The service-account token is malformed."));
        }

        var id = rest[..separator].ToString();
        var presentedHash = Hash(rest[(separator + 1)..]);
        var account = await FindAsync(id);
        if (account is null || !FixedTimeEquals(account.SecretHash, presentedHash))
        {
            _known.TryRemove(token, out _, out _);
            return (null, new TokenRejection("The service-account token is not valid."));
        }

        var known = new KnownToken(account, UserOf(account), time.GetUtcNow() + s_cacheFor);
        var cache = _known.Dictionary;
        if (cache.Count >= MaxCachedTokens)
        {
            cache.Clear();
        }

        cache[token] = known;
        return Check(known, routeId);
    }

    /// <summary>What can change while a token is cached: revocation, expiry; and the route, which differs per request.</summary>
    private (GatewayUser? User, TokenRejection? Rejection) Check(KnownToken known, string routeId)
    {
        var account = known.Account;
        if (account.RevokedAt is not null || revocations.IsServiceAccountRevoked(account.Id))
        {
            return (null, new TokenRejection("The service-account token has been revoked."));
        }

        if (account.ExpiresAt <= time.GetUtcNow())
        {
            return (null, new TokenRejection("The service-account token has expired."));
        }

        if (account.Routes.Count > 0 && !account.Routes.Contains(routeId))
        {
            return (null, new TokenRejection("The service-account token is not valid for this MCP server."));
        }

        return (known.User, null);
    }

    private static GatewayUser UserOf(ServiceAccount account) => new()
    {
        Kind = CredentialKind.ServiceAccount,
        Subject = account.Email,
        Email = account.Email,
        Name = account.Description ?? account.Email,
        Groups = account.Groups,
        ClientId = "service-account:" + account.Id,
        Claims = GatewayUser.IdentityClaims(account.Email, account.Email, account.Description ?? account.Email, account.Groups),
        CredentialId = "sa:" + account.Id,
        ExpiresAt = account.ExpiresAt,
    };

    private async ValueTask<ServiceAccount?> FindAsync(string id)
    {
        if (cache.TryGetValue(CacheKey(id), out var cached))
        {
            return cached as ServiceAccount;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var account = await db.ServiceAccounts.AsNoTracking().FirstOrDefaultAsync(a => a.Id == id);

        // Unknown ids are remembered briefly too, so guessing does not turn into a query per request.
        cache.Set(CacheKey(id), (object?)account ?? s_missing, account is null ? s_missCacheFor : s_cacheFor);
        return account;
    }

    private static string CacheKey(string id) => "gatehouse.service-account:" + id;

    private static string Hash(ReadOnlySpan<char> secret)
    {
        Span<byte> utf8 = stackalloc byte[Encoding.UTF8.GetMaxByteCount(secret.Length)];
        var length = Encoding.UTF8.GetBytes(secret, utf8);
        return Convert.ToHexStringLower(SHA256.HashData(utf8[..length]));
    }

    private static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>A token whose secret matched, until <see cref="RecheckAt"/>, when its account is read again.</summary>
    private sealed record KnownToken(ServiceAccount Account, GatewayUser User, DateTimeOffset RecheckAt);
}

internal enum ServiceAccountStatus
{
    Active,
    Expired,
    Revoked,
}

internal enum RevokeOutcome
{
    Revoked,
    NotFound,
    AlreadyRevoked,
    Expired,
}
