using System.Text;

namespace Gatehouse.Configuration;

internal enum IdpProvider
{
    /// <summary>Users listed in the configuration, passwords checked by Gatehouse.</summary>
    Builtin,

    /// <summary>Any OpenID Connect provider (Google, Entra ID, Okta, Keycloak, Auth0, ...).</summary>
    Oidc,
}

/// <summary>The downstream identity provider that signs users in (<c>idp:</c>).</summary>
internal sealed record IdpConfig
{
    public static readonly TimeSpan DefaultSessionLifetime = TimeSpan.FromHours(8);

    public IdpProvider Provider { get; init; } = IdpProvider.Builtin;

    public IReadOnlyList<BuiltinUser> Users { get; init; } = [];

    /// <summary>The OpenID Connect provider, when <see cref="Provider"/> is <see cref="IdpProvider.Oidc"/>.</summary>
    public OidcProviderConfig? Oidc { get; init; }

    /// <summary>How long a session lasts after sign-in (<c>session_lifetime</c>, default 8 h).</summary>
    public TimeSpan SessionLifetime { get; init; } = DefaultSessionLifetime;

    public LockoutConfig Lockout { get; init; } = new();

    /// <summary>The user with this email (compared case-insensitively), or null.</summary>
    public BuiltinUser? FindUser(string email) =>
        Users.FirstOrDefault(u => string.Equals(u.Email, email, StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// An OpenID Connect provider (<c>idp.provider: oidc</c>). The client secret is left out of <see cref="ToString"/>.
/// </summary>
internal sealed record OidcProviderConfig
{
    public static readonly IReadOnlyList<string> DefaultScopes = ["openid", "email", "profile", "offline_access"];

    /// <summary>The issuer; its discovery document is read from <c>{provider_url}/.well-known/openid-configuration</c>.</summary>
    public required Uri ProviderUrl { get; init; }

    public required string ClientId { get; init; }

    public string? ClientSecret { get; init; }

    public IReadOnlyList<string> Scopes { get; init; } = DefaultScopes;

    /// <summary>The claim (of the ID token or userinfo) that lists the user's groups (<c>groups_claim</c>, default <c>groups</c>).</summary>
    public string GroupsClaim { get; init; } = "groups";

    /// <summary>Extra query parameters for the provider's authorization endpoint (<c>authorization_url_params</c>).</summary>
    public IReadOnlyDictionary<string, string> AuthorizationUrlParams { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// For development only: talk to a provider on loopback over plain http. Gatehouse otherwise requires https.
    /// </summary>
    public bool AllowInsecureHttp => ProviderUrl.Scheme == Uri.UriSchemeHttp;

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("ProviderUrl = ").Append(ProviderUrl).Append(", ClientId = ").Append(ClientId)
            .Append(", ClientSecret = ").Append(ClientSecret is null ? "null" : "(redacted)")
            .Append(", Scopes = [").AppendJoin(", ", Scopes).Append("], GroupsClaim = ").Append(GroupsClaim);
        return true;
    }
}

/// <summary>
/// A user of the built-in provider. The password hash is an ASP.NET Core Identity v3 hash; it is a secret of sorts
/// (an offline guessing target), so it is left out of <see cref="ToString"/>.
/// </summary>
internal sealed record BuiltinUser(string Email, string Name, IReadOnlyList<string> Groups, string PasswordHash)
{
    public override string ToString() => $"BuiltinUser {{ Email = {Email}, Name = {Name}, Groups = [{string.Join(", ", Groups)}] }}";
}

/// <summary>
/// Lock an account after <see cref="MaxFailedAttempts"/> wrong passwords in a row, for <see cref="LockoutDuration"/>;
/// refuse a client address's sign-ins after <see cref="MaxFailedAttemptsPerAddress"/> failures within that time.
/// </summary>
internal sealed record LockoutConfig
{
    public const int DefaultMaxFailedAttemptsPerAddress = 50;

    public int MaxFailedAttempts { get; init; } = 5;

    /// <summary>
    /// Failed sign-ins from one client address (IPv6: one /64), across accounts, within <see cref="LockoutDuration"/>;
    /// 0 switches the count off (for a gateway behind a proxy that counts instead, where every client has its address).
    /// </summary>
    public int MaxFailedAttemptsPerAddress { get; init; } = DefaultMaxFailedAttemptsPerAddress;

    public TimeSpan LockoutDuration { get; init; } = TimeSpan.FromMinutes(15);
}
