using Microsoft.AspNetCore.DataProtection;

namespace Gatehouse.SignIn.Oidc;

/// <summary>
/// Protects the identity provider's refresh tokens and ID tokens at rest with Data Protection (the key ring every
/// replica shares), each kind under its own purpose, so the rows of <c>UserSessions</c> do not show them. The key ring lives in the same database and is not yet
/// itself encrypted (docs/handover.md, "Known gaps"): until it is, a full copy of the database can decrypt them.
/// </summary>
internal sealed class IdpTokenProtector(IDataProtectionProvider dataProtection)
{
    public const string Purpose = "Gatehouse.SignIn.Oidc.IdpRefreshToken.v1";

    public const string IdTokenPurpose = "Gatehouse.SignIn.Oidc.IdpIdToken.v1";

    private readonly IDataProtector _protector = dataProtection.CreateProtector(Purpose);

    private readonly IDataProtector _idTokens = dataProtection.CreateProtector(IdTokenPurpose);

    public string Protect(string refreshToken) => _protector.Protect(refreshToken);

    public string Unprotect(string protectedRefreshToken) => _protector.Unprotect(protectedRefreshToken);

    public string ProtectIdToken(string idToken) => _idTokens.Protect(idToken);

    /// <summary>The ID token, or null when the key that protected it is gone (it is then only not sent as a hint).</summary>
    public string? TryUnprotectIdToken(string protectedIdToken)
    {
        try
        {
            return _idTokens.Unprotect(protectedIdToken);
        }
        catch (System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }
}
