using System.Collections.Concurrent;
using Gatehouse.Signing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.ResourceServer;

/// <summary>
/// The identity assertion upstreams receive instead of the client's token: an ES256 JWT with Pomerium's claims
/// (<c>iss aud jti iat exp sub user email name groups sid</c>), verifiable with the JWKS at
/// <c>/.well-known/gatehouse/jwks.json</c>. An ECDSA signature costs tens of microseconds, so one assertion per
/// credential and route is reused while it has more than a minute left; it lives at most five minutes and never
/// longer than the credential it stands for.
/// </summary>
internal sealed class IdentityAssertionSigner
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan s_reuseMargin = TimeSpan.FromMinutes(1);
    private const int MaxCached = 50_000;

    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly ConcurrentDictionary<(string Credential, string Audience), (string Jwt, DateTimeOffset ReuseUntil)> _cache = new();
    private readonly TimeProvider _time;
    private readonly SigningKeyStore _keys;
    private volatile SigningCredentials? _credentials;

    public IdentityAssertionSigner(SigningKeyStore keys, TimeProvider time)
    {
        _time = time;
        _keys = keys;

        // Built on first use: the keys load when storage starts, after the middleware pipeline is built.
        keys.Changed += snapshot =>
        {
            _credentials = Credentials(snapshot, keys.CryptoProviders);
            _cache.Clear();
        };
    }

    /// <summary>
    /// The assertion for <paramref name="user"/>, issued by <paramref name="issuer"/> (the gateway's host name, as
    /// Pomerium writes it). Its <c>aud</c> holds the route's host name (what servers written for Pomerium check) and
    /// the route's URL <paramref name="routeAudience"/>, so that a server sharing its host with others can insist on
    /// assertions made for itself.
    /// </summary>
    public string GetAssertion(GatewayUser user, string issuer, string audience, string routeAudience)
    {
        var now = _time.GetUtcNow();
        var key = (user.CredentialId, routeAudience);
        if (_cache.TryGetValue(key, out var cached) && cached.ReuseUntil > now)
        {
            return cached.Jwt;
        }

        var expires = now + Lifetime < user.ExpiresAt ? now + Lifetime : user.ExpiresAt;
        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["iss"] = issuer,
            ["aud"] = new[] { audience, routeAudience },
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = expires.ToUnixTimeSeconds(),
            ["sub"] = user.Subject,
            ["user"] = user.Subject,
            ["email"] = user.Email,
            ["name"] = user.Name,
            ["groups"] = user.Groups.ToArray(),
        };
        if (user.SessionId is not null)
        {
            claims["sid"] = user.SessionId;
        }

        var jwt = _handler.CreateToken(new SecurityTokenDescriptor { Claims = claims, SigningCredentials = _credentials ??= Credentials(_keys.Current, _keys.CryptoProviders), TokenType = "JWT" });
        if (_cache.Count >= MaxCached)
        {
            _cache.Clear();
        }

        _cache[key] = (jwt, expires - s_reuseMargin);
        return jwt;
    }

    private static SigningCredentials Credentials(SigningKeySnapshot snapshot, CryptoProviderFactory cryptoProviders) =>
        new(new ECDsaSecurityKey(snapshot.SigningKey) { KeyId = snapshot.KeyId, CryptoProviderFactory = cryptoProviders }, SecurityAlgorithms.EcdsaSha256);
}
