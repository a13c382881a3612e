using Gatehouse.Configuration;
using Gatehouse.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.SignIn;

/// <summary>
/// Counts failed sign-ins per email in the database, so every replica sees the same count, and locks the email out
/// for a while after too many in a row.
/// </summary>
internal sealed class LoginLockoutStore(IServiceScopeFactory scopes, TimeProvider time)
{
    /// <summary>When the email is locked out, the instant it is released; else null.</summary>
    public async Task<DateTimeOffset?> LockedUntilAsync(string email, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var row = await db.LoginLockouts.AsNoTracking().FirstOrDefaultAsync(l => l.Email == email, cancellationToken);
        return row?.LockedUntil is { } until && until > time.GetUtcNow() ? until : null;
    }

    /// <summary>Records a failure; returns true when this failure locked the email out.</summary>
    public async Task<bool> RecordFailureAsync(string email, LockoutConfig lockout, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();

        // An atomic increment, so failures posted to two replicas at once are both counted.
        var updated = await db.LoginLockouts.Where(l => l.Email == email)
            .ExecuteUpdateAsync(set => set.SetProperty(l => l.FailedAttempts, l => l.FailedAttempts + 1), cancellationToken);
        if (updated == 0)
        {
            db.LoginLockouts.Add(new LoginLockout { Email = email, FailedAttempts = 1 });
            try
            {
                await db.SaveChangesAsync(cancellationToken);
            }
            catch (DbUpdateException)
            {
                // Another replica inserted the row first: count this failure on it.
                db.ChangeTracker.Clear();
                await db.LoginLockouts.Where(l => l.Email == email)
                    .ExecuteUpdateAsync(set => set.SetProperty(l => l.FailedAttempts, l => l.FailedAttempts + 1), cancellationToken);
            }
        }

        var row = await db.LoginLockouts.AsNoTracking().FirstAsync(l => l.Email == email, cancellationToken);
        if (row.FailedAttempts < lockout.MaxFailedAttempts)
        {
            return false;
        }

        var until = time.GetUtcNow() + lockout.LockoutDuration;
        await db.LoginLockouts.Where(l => l.Email == email)
            .ExecuteUpdateAsync(set => set.SetProperty(l => l.FailedAttempts, 0).SetProperty(l => l.LockedUntil, until), cancellationToken);
        return true;
    }

    public async Task ResetAsync(string email, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        await db.LoginLockouts.Where(l => l.Email == email).ExecuteDeleteAsync(cancellationToken);
    }
}
