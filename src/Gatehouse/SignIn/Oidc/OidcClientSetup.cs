using System.Security.Cryptography;
using Gatehouse.Configuration;
using Gatehouse.Hosting;
using Gatehouse.Proxy;
using Gatehouse.Storage;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Client;

namespace Gatehouse.SignIn.Oidc;

/// <summary>
/// Feeds the OpenIddict client from the configuration in force: the provider's registration (issuer, client id and
/// secret, scopes, a redirect URI relative to the host the user is on) and the keys its state tokens are signed and
/// encrypted with. The keys derive from one secret generated once and shared through storage, so a sign-in started
/// on one replica can finish on another. OpenIddict reads its options per request; a reload that changes
/// <c>idp</c> signals a change and the options (with the provider's discovery document) are built again.
/// </summary>
internal sealed class OidcClientSetup(ServerSecretStore secrets, GatewayState state)
    : IConfigureOptions<OpenIddictClientOptions>, IOptionsChangeTokenSource<OpenIddictClientOptions>, IHostedService, IDisposable
{
    private readonly ChangeSignal _changed = new();
    private (SymmetricSecurityKey Encryption, SymmetricSecurityKey Signing)? _keys;
    private string? _providerKey;

    public string? Name => Options.DefaultName;

    /// <summary>Loads the keys after storage is migrated, before the listener opens.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var secret = await secrets.GetOrCreateAsync(ServerSecretStore.OidcClientStateKey, 32, cancellationToken);
        try
        {
            // Two keys from one secret (RFC 5869), so no key is used both to encrypt and to sign.
            _keys = (Derive(secret, "gatehouse oidc client state encryption v1"), Derive(secret, "gatehouse oidc client state signing v1"));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(secret);
        }

        _providerKey = ProviderKey(state.Current.Config);
        state.Applied += OnApplied;
        _changed.Signal();
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        state.Applied -= OnApplied;
        return Task.CompletedTask;
    }

    public void Configure(OpenIddictClientOptions options)
    {
        var (encryption, signing) = _keys ?? throw new InvalidOperationException("The OpenID Connect client's keys are not loaded: storage start-up has not finished.");
        options.EncryptionCredentials.Add(new EncryptingCredentials(encryption, SecurityAlgorithms.Aes256KW, SecurityAlgorithms.Aes256CbcHmacSha512));
        options.SigningCredentials.Add(new SigningCredentials(signing, SecurityAlgorithms.HmacSha256));

        if (state.Current.Config.Idp is not { Provider: IdpProvider.Oidc, Oidc: { } oidc })
        {
            return;
        }

        var registration = new OpenIddictClientRegistration
        {
            RegistrationId = OidcSignIn.RegistrationId,
            Issuer = oidc.ProviderUrl,
            ClientId = oidc.ClientId,
            // Without a secret the client is public (token_endpoint_auth_method none); PKCE protects the code either way.
            ClientSecret = oidc.ClientSecret,
            // Relative: OpenIddict resolves it against the request, so the IdP sends the user back to the host they
            // signed in on (each host's callback must be registered at the IdP).
            RedirectUri = new Uri(OidcSignIn.CallbackPath, UriKind.Relative),
            PostLogoutRedirectUri = new Uri(OidcSignIn.SignedOutPath, UriKind.Relative),
        };
        registration.Scopes.UnionWith(oidc.Scopes);
        // S256 only, never `plain` (RFC 7636 §4.2; OAuth 2.1 §4.1.1).
        registration.CodeChallengeMethods.Add(OpenIddictConstants.CodeChallengeMethods.Sha256);
        options.Registrations.Add(registration);
    }

    public IChangeToken GetChangeToken() => _changed.GetChangeToken();

    public void Dispose() => _changed.Dispose();

    private void OnApplied(GatewayConfig config)
    {
        var key = ProviderKey(config);
        if (!string.Equals(key, Interlocked.Exchange(ref _providerKey, key), StringComparison.Ordinal))
        {
            _changed.Signal();
        }
    }

    /// <summary>What the registration is built from; the secret is compared through its hash only.</summary>
    private static string ProviderKey(GatewayConfig config) => config.Idp is { Provider: IdpProvider.Oidc, Oidc: { } oidc }
        ? string.Join('\n',
            oidc.ProviderUrl.OriginalString,
            oidc.ClientId,
            oidc.ClientSecret is null ? "" : Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(oidc.ClientSecret))),
            string.Join(' ', oidc.Scopes))
        : "";

    private static SymmetricSecurityKey Derive(byte[] secret, string purpose) =>
        new(HKDF.DeriveKey(HashAlgorithmName.SHA256, secret, 32, salt: [], info: System.Text.Encoding.UTF8.GetBytes(purpose)))
        {
            KeyId = purpose.Replace(' ', '-'),
        };
}
