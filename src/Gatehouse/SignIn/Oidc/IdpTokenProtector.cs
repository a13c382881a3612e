using Microsoft.AspNetCore.DataProtection;

namespace Gatehouse.SignIn.Oidc;

/// <summary>
/// Protects the identity provider's refresh tokens and ID tokens at rest with Data Protection (the key ring every
/// replica shares), each kind under its own purpose, so the rows of <c>UserSessions</c> do not show them. Without
/// <c>data_protection</c> the key ring is stored unencrypted in the same database (docs/storage.md): a full copy of
/// the database can then decrypt them.
/// </summary>
internal sealed class IdpTokenProtector(IDataProtectionProvider dataProtection)
{
    public const string Purpose = "Gatehouse.SignIn.Oidc.IdpRefreshToken.v1";

    public const string IdTokenPurpose = "Gatehouse.SignIn.Oidc.IdpIdToken.v1";

    private readonly IDataProtector _protector = dataProtection.CreateProtector(Purpose);

    private readonly IDataProtector _idTokens = dataProtection.CreateProtector(IdTokenPurpose);

    public string Protect(string refreshToken) => _protector.Protect(refreshToken);

    public string Unprotect(string protectedRefreshToken) => _protector.Unprotect(protectedRefreshToken);

    /// <summary>The refresh token, or null when the key that protected it is gone from the key ring.</summary>
    public string? TryUnprotect(string protectedRefreshToken) => TryUnprotect(_protector, protectedRefreshToken);

    public string ProtectIdToken(string idToken) => _idTokens.Protect(idToken);

    /// <summary>The ID token, or null when the key that protected it is gone (it is then only not sent as a hint).</summary>
    public string? TryUnprotectIdToken(string protectedIdToken) => TryUnprotect(_idTokens, protectedIdToken);

    private static string? TryUnprotect(IDataProtector protector, string protectedToken)
    {
        try
        {
            return protector.Unprotect(protectedToken);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }
}
