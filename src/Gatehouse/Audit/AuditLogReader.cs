using Gatehouse.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Audit;

/// <summary>What <c>gatehouse audit</c> asks for; each filter that is set narrows the result.</summary>
internal sealed record AuditFilter
{
    /// <summary>At or after this instant.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Before this instant.</summary>
    public DateTimeOffset? Until { get; init; }

    /// <summary>The user's email, compared without case.</summary>
    public string? Email { get; init; }

    public string? Route { get; init; }

    /// <summary>The tool, prompt or resource.</summary>
    public string? Target { get; init; }

    public AuditDecision? Decision { get; init; }

    public string? RequestId { get; init; }

    public int Limit { get; init; } = 100;
}

/// <summary>
/// Reads the audit table for <c>gatehouse audit</c>. The time, user, request id and non-allowed decision filters are
/// served by indexes; route and tool are filtered while reading the time index newest first (GatehouseDbContext says
/// why: every index costs every insert).
/// </summary>
internal sealed class AuditLogReader(IServiceScopeFactory scopes)
{
    /// <summary>
    /// The newest <see cref="AuditFilter.Limit"/> records that match, oldest first (as <c>tail</c> shows a log), and
    /// whether older ones matched too.
    /// </summary>
    public async Task<(List<AuditEntry> Entries, bool More)> ReadAsync(AuditFilter filter, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var entries = await Query(scope.ServiceProvider.GetRequiredService<GatehouseDbContext>(), filter).ToListAsync(cancellationToken);
        var more = entries.Count > filter.Limit;
        if (more)
        {
            entries.RemoveAt(entries.Count - 1);
        }

        entries.Reverse();
        return (entries, more);
    }

    /// <summary>The newest <see cref="AuditFilter.Limit"/> + 1 matching records, newest first.</summary>
    internal static IQueryable<AuditEntry> Query(GatehouseDbContext db, AuditFilter filter)
    {
        var query = db.AuditRecords.AsNoTracking();
        if (filter.Since is { } since)
        {
            query = query.Where(e => e.Time >= since);
        }

        if (filter.Until is { } until)
        {
            query = query.Where(e => e.Time < until);
        }

        if (filter.Email is { } user)
        {
            // Stored lower-case (AuditEntry.From), so an equality keeps the index.
            var email = user.ToLowerInvariant();
            query = query.Where(e => e.Email == email);
        }

        if (filter.Route is { } route)
        {
            query = query.Where(e => e.Route == route);
        }

        if (filter.Target is { } target)
        {
            query = query.Where(e => e.Target == target);
        }

        if (filter.Decision is { } decision)
        {
            query = decision == AuditDecision.Allowed
                ? query.Where(e => e.Decision == decision)
                // Redundant for the result; it lets SQLite use the partial index (AuditEntry.NotAllowedFilter).
                : query.Where(e => e.Decision == decision && e.Decision != AuditDecision.Allowed);
        }

        if (filter.RequestId is { } requestId)
        {
            query = query.Where(e => e.RequestId == requestId);
        }

        return query.OrderByDescending(e => e.Time).ThenByDescending(e => e.Id).Take(filter.Limit + 1);
    }
}
