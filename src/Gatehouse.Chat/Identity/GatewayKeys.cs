using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Chat.Identity;

/// <summary>
/// The gateway's signing keys, read from its JWKS (<c>/.well-known/gatehouse/jwks.json</c>, RFC 7517) and kept until
/// an assertion names a key that is not among them (the gateway rotated its keys), at most once per
/// <see cref="s_refreshInterval"/> so that forged <c>kid</c>s cannot make the app hammer the gateway.
/// </summary>
internal sealed class GatewayKeys(IHttpClientFactory http, ChatAppOptions options, TimeProvider time) : IDisposable
{
    public const string JwksPath = ".well-known/gatehouse/jwks.json";
    private static readonly TimeSpan s_refreshInterval = TimeSpan.FromSeconds(30);

    private readonly SemaphoreSlim _lock = new(1, 1);
    private IReadOnlyList<SecurityKey> _keys = [];
    private DateTimeOffset _fetchedAt = DateTimeOffset.MinValue;

    /// <summary>The keys; fetched again when <paramref name="kid"/> is unknown and the last fetch is old enough.</summary>
    public async ValueTask<IReadOnlyList<SecurityKey>> GetAsync(string? kid, CancellationToken cancellationToken)
    {
        var keys = _keys;
        if (keys.Count > 0 && (kid is null || keys.Any(k => k.KeyId == kid) || time.GetUtcNow() - _fetchedAt < s_refreshInterval))
        {
            return keys;
        }

        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_keys != keys || (_keys.Count > 0 && time.GetUtcNow() - _fetchedAt < s_refreshInterval))
            {
                return _keys;
            }

            var json = await http.CreateClient(nameof(GatewayKeys)).GetStringAsync(new Uri(options.GatewayOrigin, JwksPath), cancellationToken);
            _keys = [.. new JsonWebKeySet(json).GetSigningKeys()];
            _fetchedAt = time.GetUtcNow();
            return _keys;
        }
        finally
        {
            _lock.Release();
        }
    }

    public void Dispose() => _lock.Dispose();
}
