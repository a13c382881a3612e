using System.Security.Cryptography;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Storage;

/// <summary>
/// Random secrets generated once and shared by every replica through the database (protected with Data
/// Protection). Creation is race-safe: two replicas starting together both insert, one wins, both read the winner.
/// </summary>
internal sealed class ServerSecretStore(IServiceScopeFactory scopes, IDataProtectionProvider dataProtection, TimeProvider time)
{
    /// <summary>The 256-bit key OpenIddict encrypts authorization codes and refresh tokens with (A256KW).</summary>
    public const string TokenEncryptionKey = "oauth.token-encryption-key.v1";

    /// <summary>
    /// The 256-bit secret the OpenID Connect client's keys are derived from: its state tokens (which carry the PKCE
    /// verifier and the return path across the trip to the identity provider) are signed and encrypted with them.
    /// </summary>
    public const string OidcClientStateKey = "oidc.client-state-key.v1";

    private readonly IDataProtector _protector = dataProtection.CreateProtector("Gatehouse.Storage.ServerSecrets.v1");

    public async Task<byte[]> GetOrCreateAsync(string name, int bytes, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var existing = await db.ServerSecrets.AsNoTracking().FirstOrDefaultAsync(s => s.Name == name, cancellationToken);
        if (existing is null)
        {
            var value = RandomNumberGenerator.GetBytes(bytes);
            var protectedValue = Convert.ToBase64String(_protector.Protect(value));
            CryptographicOperations.ZeroMemory(value);
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO "ServerSecrets" ("Name", "ProtectedValue", "CreatedAt") VALUES ({name}, {protectedValue}, {time.GetUtcNow()})
                ON CONFLICT DO NOTHING
                """, cancellationToken);
            existing = await db.ServerSecrets.AsNoTracking().FirstAsync(s => s.Name == name, cancellationToken);
        }

        return _protector.Unprotect(Convert.FromBase64String(existing.ProtectedValue));
    }
}
