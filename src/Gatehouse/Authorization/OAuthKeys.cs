using Gatehouse.Hosting;
using Gatehouse.Signing;
using Gatehouse.Storage;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;

namespace Gatehouse.Authorization;

/// <summary>
/// Feeds OpenIddict the keys every replica shares: the ES256 signing keys of <see cref="SigningKeyStore"/> (the
/// active key first, so it signs; the others published in the JWKS) and a 256-bit key, generated once and stored,
/// that encrypts authorization codes and refresh tokens. OpenIddict reads its options per request, so when the
/// signing keys rotate this source signals a change and the options are rebuilt with the new keys.
/// </summary>
internal sealed class OAuthKeys(SigningKeyStore signingKeys, ServerSecretStore secrets)
    : IConfigureOptions<OpenIddictServerOptions>, IOptionsChangeTokenSource<OpenIddictServerOptions>, IDisposable
{
    private readonly ChangeSignal _changed = new();
    private SymmetricSecurityKey? _encryptionKey;

    public string? Name => Options.DefaultName;

    /// <summary>Loads the encryption key; called once at start-up, after storage is migrated.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        _encryptionKey = new SymmetricSecurityKey(await secrets.GetOrCreateAsync(ServerSecretStore.TokenEncryptionKey, 32, cancellationToken))
        {
            KeyId = "gatehouse-token-encryption-v1",
        };
        signingKeys.Changed += _ => _changed.Signal();
        _changed.Signal();
    }

    public void Configure(OpenIddictServerOptions options)
    {
        var encryptionKey = _encryptionKey ?? throw new InvalidOperationException("The authorization server's keys are not loaded: storage start-up has not finished.");
        options.EncryptionCredentials.Add(new EncryptingCredentials(encryptionKey, SecurityAlgorithms.Aes256KW, SecurityAlgorithms.Aes256CbcHmacSha512));

        var snapshot = signingKeys.Current;
        options.SigningCredentials.Add(Credentials(snapshot.KeyId, snapshot.SigningKey));
        foreach (var (kid, key) in snapshot.PublishedKeys)
        {
            if (kid != snapshot.KeyId)
            {
                options.SigningCredentials.Add(Credentials(kid, key));
            }
        }

        // OpenIddict validates its own tokens (codes, refresh tokens) with these keys too.
        options.TokenValidationParameters.CryptoProviderFactory = signingKeys.CryptoProviders;
    }

    public IChangeToken GetChangeToken() => _changed.GetChangeToken();

    public void Dispose() => _changed.Dispose();

    private SigningCredentials Credentials(string kid, System.Security.Cryptography.ECDsa key) =>
        new(new ECDsaSecurityKey(key) { KeyId = kid, CryptoProviderFactory = signingKeys.CryptoProviders }, SecurityAlgorithms.EcdsaSha256);
}
