using Gatehouse.Storage;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;

namespace Gatehouse.Authorization;

/// <summary>
/// Users' consents to OAuth clients, one per user and client (MCP authorization, "Confused Deputy Problem"), with
/// the MCP servers each covers. Revoking one also revokes every grant the client holds for the user.
/// </summary>
internal sealed class ConsentStore(IServiceScopeFactory scopes, TimeProvider time)
{
    /// <summary>Whether the user already let this client reach every one of <paramref name="resources"/>.</summary>
    public async Task<bool> CoversAsync(string subject, string clientId, IEnumerable<string> resources, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var consent = await db.UserConsents.FirstOrDefaultAsync(c => c.Subject == subject && c.ClientId == clientId, cancellationToken);
        if (consent is null || !resources.All(consent.Resources.Contains))
        {
            return false;
        }

        consent.LastUsedAt = time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    /// <summary>Records (or widens) the user's consent to the client.</summary>
    public async Task GrantAsync(string subject, string clientId, string clientName, IEnumerable<string> resources, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var now = time.GetUtcNow();
        var consent = await db.UserConsents.FirstOrDefaultAsync(c => c.Subject == subject && c.ClientId == clientId, cancellationToken);
        if (consent is null)
        {
            consent = new UserConsent { Subject = subject, ClientId = clientId, ClientName = clientName, GrantedAt = now };
            db.UserConsents.Add(consent);
        }

        consent.ClientName = clientName;
        consent.Resources = [.. consent.Resources.Union(resources, StringComparer.Ordinal)];
        consent.LastUsedAt = now;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // The same user approved the same client in two tabs at once: the other approval is the same consent.
            db.ChangeTracker.Clear();
            await GrantAsync(subject, clientId, clientName, resources, cancellationToken);
        }
    }

    public async Task<List<UserConsent>> ListAsync(string subject, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var consents = await db.UserConsents.AsNoTracking().Where(c => c.Subject == subject).ToListAsync(cancellationToken);
        return [.. consents.OrderBy(c => c.ClientName, StringComparer.OrdinalIgnoreCase)];
    }

    /// <summary>
    /// Forgets the consent and revokes every grant of the client for this user (RFC 7009 §2.1 in spirit): its
    /// refresh tokens stop working and its access tokens are refused by the gateway within seconds. Returns false
    /// when there was no such consent.
    /// </summary>
    public async Task<bool> RevokeAsync(string subject, string clientId, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var removed = await db.UserConsents.Where(c => c.Subject == subject && c.ClientId == clientId).ExecuteDeleteAsync(cancellationToken);

        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        var authorizations = scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationManager>();
        var tokens = scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>();
        if (await applications.FindByClientIdAsync(clientId, cancellationToken) is { } application &&
            await applications.GetIdAsync(application, cancellationToken) is { } applicationId)
        {
            var ids = new List<string>();
            await foreach (var authorization in authorizations.FindAsync(subject, applicationId, status: null, type: null, scopes: null, cancellationToken))
            {
                await authorizations.TryRevokeAsync(authorization, cancellationToken);
                if (await authorizations.GetIdAsync(authorization, cancellationToken) is { } id)
                {
                    ids.Add(id);
                }
            }

            foreach (var id in ids)
            {
                // GatehouseTokenManager records each grant in the revocation list the gateway checks.
                await tokens.RevokeByAuthorizationIdAsync(id, cancellationToken);
            }
        }

        return removed > 0;
    }
}
