using Gatehouse.Configuration;
using Gatehouse.Proxy;
using Gatehouse.Storage;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Client;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Abstractions.OpenIddictExceptions;

namespace Gatehouse.SignIn.Oidc;

/// <summary>When the refresher looks for due sessions and how it shares them out; the defaults suit production.</summary>
internal sealed record IdpRefreshSchedule
{
    /// <summary>How often due sessions are looked for.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long before the provider's access token expires its session is refreshed.</summary>
    public TimeSpan RefreshAhead { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long one replica holds a session while it refreshes it; a refresh is cut off at half of this.</summary>
    public TimeSpan Lease { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Sessions refreshed per pass at most; the rest wait for the next pass.</summary>
    public int BatchSize { get; init; } = 500;
}

/// <summary>
/// Keeps asking the OpenID Connect provider whether each signed-in user is still valid, by redeeming the session's
/// refresh token shortly before the provider's access token expires: a user disabled at the provider loses the
/// session (and every MCP grant made from it) within one access-token lifetime.
/// </summary>
/// <remarks>
/// Providers that rotate refresh tokens (RFC 9700 §4.14.2; OAuth 2.1 §4.3.1) revoke the whole grant when a used one
/// comes back, so a rotated token must be stored before anyone uses the old one again, and two replicas must never
/// refresh the same session at once. Each session is therefore leased with one conditional update that only one
/// replica can win (Pomerium issue #6530 lost sessions this way). <c>invalid_grant</c> revokes the session; network
/// errors and server errors keep it and try again next pass.
/// </remarks>
internal sealed partial class IdpSessionRefresher(
    IServiceScopeFactory scopes,
    OpenIddictClientService client,
    IdpTokenProtector protector,
    SessionStore sessions,
    GatewayState state,
    IdpRefreshSchedule schedule,
    TimeProvider time,
    ILogger<IdpSessionRefresher> logger) : BackgroundService
{
    /// <summary>When the provider does not say how long its access token lasts (<c>expires_in</c>), check hourly.</summary>
    public static readonly TimeSpan AssumedAccessTokenLifetime = TimeSpan.FromHours(1);

    private const int Parallelism = 4;

    /// <summary>1 while refreshes fail for reasons other than invalid_grant: the warning is logged once per outage.</summary>
    private int _failing;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(schedule.Interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await RefreshDueAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Storage trouble: nothing was changed; the next pass tries again.
                LogPassFailed(logger, ex.GetType().Name, ex.Message);
            }
        }
    }

    /// <summary>One pass: every session whose provider access token expires soon, and that no replica holds.</summary>
    internal async Task RefreshDueAsync(CancellationToken cancellationToken)
    {
        if (state.Current.Config.Idp is not { Provider: IdpProvider.Oidc, Oidc: { } oidc })
        {
            return;
        }

        var now = time.GetUtcNow();
        var dueBefore = now + schedule.RefreshAhead;
        List<string> due;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
            due = await db.UserSessions.AsNoTracking()
                .Where(s => s.RevokedAt == null && s.ProtectedIdpRefreshToken != null && s.IdpCheckUntil > now &&
                    s.IdpAccessTokenExpiresAt < dueBefore && (s.IdpRefreshLeaseUntil == null || s.IdpRefreshLeaseUntil < now))
                .OrderBy(s => s.IdpAccessTokenExpiresAt)
                .Select(s => s.Id)
                .Take(schedule.BatchSize)
                .ToListAsync(cancellationToken);
        }

        await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (sessionId, token) => await RefreshSessionAsync(sessionId, oidc, token));
    }

    private async Task RefreshSessionAsync(string sessionId, OidcProviderConfig oidc, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var now = time.GetUtcNow();

        // The lease: one atomic conditional update, so of all the replicas that saw this session due, exactly one
        // touches the row and goes on. Whole milliseconds, as stored, so the final update can name this very lease.
        var lease = DateTimeOffset.FromUnixTimeMilliseconds((now + schedule.Lease).ToUnixTimeMilliseconds());
        var taken = await db.UserSessions
            .Where(s => s.Id == sessionId && s.RevokedAt == null && (s.IdpRefreshLeaseUntil == null || s.IdpRefreshLeaseUntil < now))
            .ExecuteUpdateAsync(set => set.SetProperty(s => s.IdpRefreshLeaseUntil, lease), cancellationToken);
        if (taken != 1)
        {
            return;
        }

        // Read under the lease: the refresh token is the latest one any replica stored.
        var session = await db.UserSessions.AsNoTracking().FirstAsync(s => s.Id == sessionId, cancellationToken);
        if (session.ProtectedIdpRefreshToken is null || protector.TryUnprotect(session.ProtectedIdpRefreshToken) is not { } refreshToken)
        {
            // The Data Protection key ring lost the key: nobody can ask the provider about this user any more.
            await sessions.RevokeSessionAsync(sessionId, cancellationToken);
            LogUnreadable(logger, session.Email);
            return;
        }

        OpenIddictClientModels.RefreshTokenAuthenticationResult result;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            // Well inside the lease, so no other replica can take the session while this refresh is in flight.
            deadline.CancelAfter(schedule.Lease / 2);
            try
            {
                result = await client.AuthenticateWithRefreshTokenAsync(new()
                {
                    RefreshToken = refreshToken,
                    RegistrationId = OidcSignIn.RegistrationId,
                    CancellationToken = deadline.Token,
                });
            }
            catch (ProtocolException ex) when (ex.Error == Errors.InvalidGrant)
            {
                // RFC 6749 §5.2: the grant is expired, revoked or was replayed: the provider no longer vouches for the user.
                await sessions.RevokeSessionAsync(sessionId, cancellationToken);
                LogRevoked(logger, session.Email, ex.ErrorDescription ?? "");
                return;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // Unreachable, 5xx, timed out, or refused for another reason (invalid_client after a secret change):
                // the session and its token stay as they are, and the lease goes so the next pass retries.
                await ReleaseAsync(db, sessionId, lease);
                if (Interlocked.Exchange(ref _failing, 1) == 0)
                {
                    LogRefreshFailing(logger, oidc.ProviderUrl.OriginalString, Describe(ex));
                }

                return;
            }
        }

        if (Interlocked.Exchange(ref _failing, 0) == 1)
        {
            LogRecovered(logger);
        }

        var identity = OidcIdentity.From(result.Principal, oidc.GroupsClaim);
        if (identity.Subject is { } subject && session.Subject is { } known && !string.Equals(subject, known, StringComparison.Ordinal))
        {
            // OpenID Connect Core §12.2: a refreshed ID token must be about the same user.
            await sessions.RevokeSessionAsync(sessionId, cancellationToken);
            LogRevoked(logger, session.Email, "the refreshed ID token names another subject");
            return;
        }

        // The provider rotated the refresh token: keep the new one (the old one is spent). No new one: keep the old.
        var storedToken = string.IsNullOrEmpty(result.RefreshToken) ? session.ProtectedIdpRefreshToken : protector.Protect(result.RefreshToken);
        var expires = result.AccessTokenExpirationDate ?? time.GetUtcNow() + AssumedAccessTokenLifetime;
        var name = identity.Name is { } n ? n[..Math.Min(n.Length, 320)] : session.Name;
        var groups = identity.Groups is { } g ? g.ToList() : session.Groups;
        var stored = await db.UserSessions
            .Where(s => s.Id == sessionId && s.IdpRefreshLeaseUntil == lease)
            .ExecuteUpdateAsync(set => set
                .SetProperty(s => s.ProtectedIdpRefreshToken, storedToken)
                .SetProperty(s => s.IdpAccessTokenExpiresAt, expires)
                .SetProperty(s => s.Name, name)
                .SetProperty(s => s.Groups, groups)
                .SetProperty(s => s.IdpRefreshLeaseUntil, (DateTimeOffset?)null), CancellationToken.None);
        if (stored == 1)
        {
            LogRefreshed(logger, session.Email, expires);
        }
        else
        {
            LogLeaseLost(logger, session.Email);
        }
    }

    private static Task<int> ReleaseAsync(GatehouseDbContext db, string sessionId, DateTimeOffset lease) =>
        db.UserSessions.Where(s => s.Id == sessionId && s.IdpRefreshLeaseUntil == lease)
            .ExecuteUpdateAsync(set => set.SetProperty(s => s.IdpRefreshLeaseUntil, (DateTimeOffset?)null), CancellationToken.None);

    /// <summary>The error without any token: a protocol error's code and description, or the exception's type and message.</summary>
    private static string Describe(Exception ex) => ex is ProtocolException protocol
        ? $"{protocol.Error}: {protocol.ErrorDescription}"
        : $"{ex.GetType().Name}: {ex.Message}";

    [LoggerMessage(EventId = 4020, Level = LogLevel.Debug, Message = "Refreshed the provider tokens of a session of {Email}; next check before {ExpiresAt:O}")]
    private static partial void LogRefreshed(ILogger logger, string email, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 4021, Level = LogLevel.Warning, Message = "The OpenID Connect provider no longer honours a session of {Email} ({Reason}); the session and the MCP grants made from it are revoked")]
    private static partial void LogRevoked(ILogger logger, string email, string reason);

    [LoggerMessage(EventId = 4022, Level = LogLevel.Warning, Message = "Cannot refresh sessions with the OpenID Connect provider {ProviderUrl} ({Reason}); sessions stay valid and are retried every pass")]
    private static partial void LogRefreshFailing(ILogger logger, string providerUrl, string reason);

    [LoggerMessage(EventId = 4023, Level = LogLevel.Information, Message = "The OpenID Connect provider refreshes sessions again")]
    private static partial void LogRecovered(ILogger logger);

    [LoggerMessage(EventId = 4024, Level = LogLevel.Warning, Message = "A session of {Email} was held past its refresh lease; its refreshed tokens were not stored")]
    private static partial void LogLeaseLost(ILogger logger, string email);

    [LoggerMessage(EventId = 4025, Level = LogLevel.Warning, Message = "The stored provider refresh token of a session of {Email} cannot be decrypted (Data Protection key lost); the session is revoked")]
    private static partial void LogUnreadable(ILogger logger, string email);

    [LoggerMessage(EventId = 4026, Level = LogLevel.Error, Message = "The provider session refresh pass failed: {ExceptionType}: {Reason}")]
    private static partial void LogPassFailed(ILogger logger, string exceptionType, string reason);
}
