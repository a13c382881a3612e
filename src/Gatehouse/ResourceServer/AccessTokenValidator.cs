using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Security.Claims;
using Gatehouse.Revocation;
using Gatehouse.Signing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.ResourceServer;

/// <summary>Why a bearer token was refused, in words safe to show the client.</summary>
internal sealed record TokenRejection(string Description);

/// <summary>
/// Checks the access tokens Gatehouse's authorization server issued, on the request path and in memory: the
/// signature against the published keys (ES256 only), RFC 9068's <c>typ</c>, the lifetime, then per request the
/// issuer and the audience for the route, and the revocation list. A token's signature is verified once and the
/// result kept until the token expires, so a client that sends the same token a thousand times pays for one
/// ECDSA verification (RFC 9068 §4, RFC 8707 §2). A cached token is looked up as a span of the request's
/// Authorization header: an access token is close to a kilobyte, and it is not copied per request.
/// </summary>
internal sealed class AccessTokenValidator
{
    /// <summary>More distinct live tokens than this and the cache starts again: memory stays bounded.</summary>
    private const int MaxCachedTokens = 50_000;

    private static readonly TimeSpan s_clockSkew = TimeSpan.FromSeconds(30);

    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    /// <summary>Validated tokens by their compact serialization; looked up without a string (see the summary).</summary>
    private readonly ConcurrentDictionary<string, ValidatedToken>.AlternateLookup<ReadOnlySpan<char>> _cache =
        new ConcurrentDictionary<string, ValidatedToken>(StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
    private readonly RevocationList _revocations;
    private readonly TimeProvider _time;
    private readonly SigningKeyStore _keys;
    private volatile TokenValidationParameters? _parameters;

    private readonly Proxy.GatewayState _state;

    public AccessTokenValidator(SigningKeyStore keys, RevocationList revocations, TimeProvider time, Proxy.GatewayState state)
    {
        _keys = keys;
        _state = state;
        _revocations = revocations;
        _time = time;

        // Built on first use: the keys load when storage starts, after the middleware pipeline is built.
        keys.Changed += snapshot => _parameters = BuildParameters(snapshot, keys.CryptoProviders);
    }

    private TokenValidationParameters Parameters => _parameters ??= BuildParameters(_keys.Current, _keys.CryptoProviders);

    /// <summary>
    /// Validates <paramref name="token"/> for the resource <paramref name="resourceUrl"/>, issued by
    /// <paramref name="issuer"/>. Returns the user, or the reason it was refused. Completes synchronously, without
    /// allocating, for a token seen before.
    /// </summary>
    public ValueTask<(GatewayUser? User, TokenRejection? Rejection)> ValidateAsync(ReadOnlySpan<char> token, string issuer, string resourceUrl) =>
        _cache.TryGetValue(token, out var validated)
            ? ValueTask.FromResult(Check(validated, token, issuer, resourceUrl))
            : ValidateNewAsync(token.ToString(), issuer, resourceUrl);

    /// <summary>An External Token presented to the routes API (<c>/.gatehouse/mcp/...</c>) on this issuer's host.</summary>
    public ValueTask<(GatewayUser? User, TokenRejection? Rejection)> ValidateExternalTokenAsync(ReadOnlySpan<char> token, string issuer) =>
        ValidateAsync(token, issuer, resourceUrl: "");

    /// <summary>A token not in the cache: the signature, <c>typ</c> and lifetime, once; then the per-request checks.</summary>
    private async ValueTask<(GatewayUser? User, TokenRejection? Rejection)> ValidateNewAsync(string token, string issuer, string resourceUrl)
    {
        if (token.Length > 8192)
        {
            return (null, new TokenRejection("The access token is too long."));
        }

        var result = await _handler.ValidateTokenAsync(token, Parameters);
        if (!result.IsValid)
        {
            return (null, new TokenRejection(Describe(result.Exception)));
        }

        if (ValidatedToken.From((JsonWebToken)result.SecurityToken, result.ClaimsIdentity) is not { } validated)
        {
            return (null, new TokenRejection("The access token lacks a subject, an audience or an expiry."));
        }

        var cache = _cache.Dictionary;
        if (cache.Count >= MaxCachedTokens)
        {
            cache.Clear();
        }

        cache[token] = validated;
        return Check(validated, token, issuer, resourceUrl);
    }

    /// <summary>What is checked on every request, because it depends on the request or changes over time.</summary>
    private (GatewayUser? User, TokenRejection? Rejection) Check(ValidatedToken validated, ReadOnlySpan<char> token, string issuer, string resourceUrl)
    {
        if (validated.ExpiresAt + s_clockSkew <= _time.GetUtcNow())
        {
            _cache.TryRemove(token, out _, out _);
            return (null, new TokenRejection("The access token has expired."));
        }

        if (!IssuerMatches(validated.Issuer, issuer))
        {
            return (null, new TokenRejection("The access token was issued by another authorization server."));
        }

        if (resourceUrl.Length == 0)
        {
            // The routes API takes only External Tokens (issued to a client route's app), whatever their audiences.
            if (validated.User.ClientId?.StartsWith(ExternalTokenIssuer.ClientIdPrefix, StringComparison.Ordinal) != true)
            {
                return (null, new TokenRejection("Only a token Gatehouse gave a client route's app (TE) may call this API."));
            }
        }
        else if (!validated.Audiences.Contains(resourceUrl))
        {
            // RFC 8707 §2 and MCP authorization, "Token Audience Binding and Validation".
            return (null, new TokenRejection("The access token was issued for another resource; request one for this MCP server (RFC 8707 resource)."));
        }

        if (_revocations.IsTokenRevoked(validated.TokenId) || _revocations.IsAuthorizationRevoked(validated.AuthorizationId) ||
            _revocations.IsSessionRevoked(validated.User.SessionId))
        {
            return (null, new TokenRejection("The access token has been revoked."));
        }

        return (validated.User, null);
    }

    /// <summary>
    /// Issuers are compared without a trailing slash (OpenIddict writes <c>https://host/</c>). A token issued on another
    /// host this gateway serves is accepted too: every host signs with the same keys, and the audience, checked next,
    /// still binds the token to one route's URL. That is what lets a client route on <c>chat.example.com</c> hand its
    /// app a token (TE) for MCP servers on <c>mcp.example.com</c>.
    /// </summary>
    private bool IssuerMatches(string tokenIssuer, string expected)
    {
        if (tokenIssuer.AsSpan().TrimEnd('/').Equals(expected.AsSpan().TrimEnd('/'), StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        return Uri.TryCreate(tokenIssuer, UriKind.Absolute, out var issuer) && issuer.AbsolutePath == "/" &&
            Authorization.McpResources.IsServedHost(_state.Current, new HostString(issuer.Authority));
    }

    private static string Describe(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => "The access token has expired.",
        SecurityTokenNotYetValidException => "The access token is not valid yet.",
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "The access token's signature is not valid.",
        SecurityTokenInvalidAlgorithmException => "The access token must be signed with ES256.",
        SecurityTokenInvalidTypeException => "The token is not an access token (RFC 9068 typ at+jwt).",
        SecurityTokenNoExpirationException => "The access token has no expiry.",
        SecurityTokenMalformedException or ArgumentException => "The access token is malformed.",
        _ => "The access token is not valid.",
    };

    private static TokenValidationParameters BuildParameters(SigningKeySnapshot snapshot, CryptoProviderFactory cryptoProviders)
    {
        var keys = snapshot.PublishedKeys.ToFrozenDictionary(
            kv => kv.Key, kv => (SecurityKey)new ECDsaSecurityKey(kv.Value) { KeyId = kv.Key, CryptoProviderFactory = cryptoProviders }, StringComparer.Ordinal);
        return new TokenValidationParameters
        {
            // The issuer and audience depend on the route and host of each request: checked above, after the cache.
            ValidateIssuer = false,
            ValidateAudience = false,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            ClockSkew = s_clockSkew,
            // RFC 9068 §2.1: access tokens are typed at+jwt, so an ID token or an identity assertion is refused.
            ValidTypes = ["at+jwt", "application/at+jwt"],
            // Only what Gatehouse signs with: no `none`, no HMAC with a public key as the secret.
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            IssuerSigningKeyResolver = (_, _, kid, _) => kid is not null && keys.TryGetValue(kid, out var key) ? [key] : [],
            TryAllIssuerSigningKeys = false,
        };
    }

    private sealed record ValidatedToken(GatewayUser User, string Issuer, FrozenSet<string> Audiences, DateTimeOffset ExpiresAt, string? TokenId, string? AuthorizationId)
    {
        public static ValidatedToken? From(JsonWebToken jwt, ClaimsIdentity identity)
        {
            var subject = jwt.Subject;
            var audiences = jwt.Audiences.ToFrozenSet(StringComparer.Ordinal);
            if (string.IsNullOrEmpty(subject) || audiences.Count == 0 || jwt.ValidTo == DateTime.MinValue)
            {
                return null;
            }

            string? Claim(string type) => identity.FindFirst(type)?.Value;
            var expires = new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero);
            var tokenId = Claim(GatehouseClaims.TokenId) ?? jwt.Id;
            var user = new GatewayUser
            {
                Kind = CredentialKind.AccessToken,
                Subject = subject,
                Email = Claim(GatehouseClaims.Email) ?? subject,
                Name = Claim(GatehouseClaims.Name) ?? Claim(GatehouseClaims.Email) ?? subject,
                Groups = identity.FindAll(GatehouseClaims.Groups).Select(c => c.Value).ToArray(),
                SessionId = Claim(GatehouseClaims.SessionId),
                ClientId = Claim(GatehouseClaims.ClientId),
                CredentialId = tokenId ?? jwt.EncodedSignature,
                ExpiresAt = expires,
                Claims = GatewayUser.ClaimsFrom(identity.Claims),
            };
            return new ValidatedToken(user, jwt.Issuer, audiences, expires, tokenId, Claim(GatehouseClaims.AuthorizationId));
        }
    }
}

/// <summary>Claim names Gatehouse writes into access tokens and identity assertions.</summary>
internal static class GatehouseClaims
{
    public const string Email = "email";
    public const string Name = "name";
    public const string Groups = "groups";
    public const string SessionId = "sid";
    public const string ClientId = "client_id";

    /// <summary>OpenIddict's token entry id (<c>oi_tkn_id</c>), what RFC 7009 revocation of one token revokes.</summary>
    public const string TokenId = "oi_tkn_id";

    /// <summary>OpenIddict's authorization id (<c>oi_au_id</c>): one refresh-token family.</summary>
    public const string AuthorizationId = "oi_au_id";
}
