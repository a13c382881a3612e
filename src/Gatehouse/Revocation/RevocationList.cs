using System.Collections.Concurrent;
using Gatehouse.Storage;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Revocation;

/// <summary>
/// What has been revoked, in memory, so the request path checks a token without a database query. Every replica
/// loads the <c>Revocations</c> table at start-up and polls it every <see cref="PollInterval"/>; a revocation made
/// here is visible here at once, and on other replicas within one poll.
/// </summary>
/// <remarks>
/// A list that could not be refreshed for <see cref="MaxStaleness"/> no longer vouches for anything:
/// <see cref="IsCurrent"/> turns false and protected routes answer 503 rather than accept a token that may have been
/// revoked meanwhile (fail closed).
/// </remarks>
internal sealed partial class RevocationList(IServiceScopeFactory scopes, TimeProvider time, ILogger<RevocationList> logger)
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan MaxStaleness = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Rows are read again for this long after their insert time: a row written by a replica whose clock is behind, or
    /// committed after a poll began, is still seen.
    /// </summary>
    private static readonly TimeSpan s_overlap = TimeSpan.FromMinutes(2);

    private readonly ConcurrentDictionary<string, DateTimeOffset> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _authorizations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _serviceAccounts = new(StringComparer.Ordinal);
    private DateTimeOffset? _lastRefresh;
    private DateTimeOffset _pollFrom = DateTimeOffset.MinValue;

    /// <summary>True when the list was refreshed recently enough to be trusted.</summary>
    public bool IsCurrent => _lastRefresh is { } last && time.GetUtcNow() - last < MaxStaleness;

    public bool IsTokenRevoked(string? tokenId) => tokenId is not null && _tokens.ContainsKey(tokenId);

    public bool IsAuthorizationRevoked(string? authorizationId) => authorizationId is not null && _authorizations.ContainsKey(authorizationId);

    public bool IsSessionRevoked(string? sessionId) => sessionId is not null && _sessions.ContainsKey(sessionId);

    public bool IsServiceAccountRevoked(string? id) => id is not null && _serviceAccounts.ContainsKey(id);

    /// <summary>
    /// Records revocations in the database and in this replica's list. <paramref name="expiresAt"/> is when the last
    /// token carrying the id expires: the row is kept until then.
    /// </summary>
    public async Task RevokeAsync(IEnumerable<(string Kind, string Value)> items, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        foreach (var (kind, value) in items)
        {
            // ON CONFLICT DO NOTHING: revoking twice (two replicas, a retried request) is not an error.
            await db.Database.ExecuteSqlAsync($"""
                INSERT INTO "Revocations" ("Kind", "Value", "RevokedAt", "ExpiresAt")
                VALUES ({kind}, {value}, {now.ToUnixTimeMilliseconds()}, {expiresAt.ToUnixTimeMilliseconds()})
                ON CONFLICT DO NOTHING
                """, cancellationToken);
            Add(kind, value, expiresAt);
        }
    }

    public Task RevokeAsync(string kind, string value, DateTimeOffset expiresAt, CancellationToken cancellationToken) =>
        RevokeAsync([(kind, value)], expiresAt, cancellationToken);

    /// <summary>Reads what was revoked since the last refresh (everything unexpired, the first time).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var from = _pollFrom;
        var query = from == DateTimeOffset.MinValue
            ? db.Revocations.AsNoTracking().Where(r => r.ExpiresAt > started)
            : db.Revocations.AsNoTracking().Where(r => r.RevokedAt >= from);
        var rows = await query.Select(r => new { r.Kind, r.Value, r.ExpiresAt }).ToListAsync(cancellationToken);
        foreach (var row in rows)
        {
            Add(row.Kind, row.Value, row.ExpiresAt);
        }

        _pollFrom = started - s_overlap;
        _lastRefresh = started;
    }

    /// <summary>Forgets what has expired, here and in the database.</summary>
    public async Task PruneAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var set in new[] { _tokens, _authorizations, _sessions, _serviceAccounts })
        {
            foreach (var (key, expires) in set)
            {
                if (expires <= now)
                {
                    set.TryRemove(key, out _);
                }
            }
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var removed = await db.Revocations.Where(r => r.ExpiresAt <= now).ExecuteDeleteAsync(cancellationToken);
        if (removed > 0)
        {
            LogPruned(logger, removed);
        }
    }

    private void Add(string kind, string value, DateTimeOffset expiresAt)
    {
        var set = kind switch
        {
            RevocationKinds.Token => _tokens,
            RevocationKinds.Authorization => _authorizations,
            RevocationKinds.Session => _sessions,
            RevocationKinds.ServiceAccount => _serviceAccounts,
            _ => null,
        };
        set?[value] = expiresAt;
    }

    [LoggerMessage(EventId = 5100, Level = LogLevel.Debug, Message = "Removed {Count} expired revocation records")]
    private static partial void LogPruned(ILogger logger, int count);
}

/// <summary>Keeps <see cref="RevocationList"/> current: a poll every two seconds, a prune every hour.</summary>
internal sealed partial class RevocationPoller(RevocationList list, TimeProvider time, ILogger<RevocationPoller> logger) : BackgroundService
{
    private static readonly TimeSpan s_pruneInterval = TimeSpan.FromHours(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastPrune = time.GetUtcNow();
        var failing = false;
        using var timer = new PeriodicTimer(RevocationList.PollInterval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await list.RefreshAsync(stoppingToken);
                if (failing)
                {
                    LogRecovered(logger);
                    failing = false;
                }

                if (time.GetUtcNow() - lastPrune > s_pruneInterval)
                {
                    lastPrune = time.GetUtcNow();
                    await list.PruneAsync(stoppingToken);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                if (!failing)
                {
                    LogPollFailed(logger, ex.GetType().Name, ex.Message, RevocationList.MaxStaleness.TotalSeconds);
                    failing = true;
                }
            }
        }
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning,
        Message = "Cannot read revocations from storage ({ExceptionType}: {Reason}); protected routes answer 503 once the list is {Seconds} s old")]
    private static partial void LogPollFailed(ILogger logger, string exceptionType, string reason, double seconds);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Information, Message = "Reading revocations from storage again")]
    private static partial void LogRecovered(ILogger logger);
}
