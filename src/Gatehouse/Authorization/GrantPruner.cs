using Gatehouse.Proxy;
using OpenIddict.Abstractions;

namespace Gatehouse.Authorization;

/// <summary>
/// Deletes the authorization server's dead entries: redeemed, revoked or expired tokens (codes, refresh tokens, the
/// OpenID Connect client's state tokens) and authorizations with nothing valid left. OpenIddict records every one of
/// them and leaves their removal to the host (its Quartz integration is not available here), so without this the
/// token table only grows.
/// </summary>
/// <remarks>
/// Only entries created before the longest a grant can live (<c>refresh_token_lifetime</c>, plus a day) are
/// candidates: a redeemed refresh token must stay while its grant could still be alive, since presenting it again is
/// how a stolen token is detected and the whole family revoked (OAuth 2.1 §4.3.1). Pruning is idempotent, so
/// replicas may do it at the same time.
/// </remarks>
internal sealed partial class GrantPruner(IServiceScopeFactory scopes, GatewayState state, TimeProvider time, ILogger<GrantPruner> logger)
    : BackgroundService
{
    private static readonly TimeSpan s_interval = TimeSpan.FromHours(1);
    private static readonly TimeSpan s_margin = TimeSpan.FromDays(1);

    /// <summary>Prunes once, treating entries created before <paramref name="now"/> minus the longest grant as old.</summary>
    public async Task<(long Tokens, long Authorizations)> PruneAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var threshold = now - state.Current.Config.AuthorizationServer.RefreshTokenLifetime - s_margin;
        await using var scope = scopes.CreateAsyncScope();
        var tokens = await scope.ServiceProvider.GetRequiredService<IOpenIddictTokenManager>().PruneAsync(threshold, cancellationToken);
        var authorizations = await scope.ServiceProvider.GetRequiredService<IOpenIddictAuthorizationManager>().PruneAsync(threshold, cancellationToken);
        if (tokens + authorizations > 0)
        {
            LogPruned(logger, tokens, authorizations);
        }

        return (tokens, authorizations);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(s_interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await PruneAsync(time.GetUtcNow(), stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Storage may be briefly unreachable; the next hour tries again and nothing depends on this run.
                LogPruneFailed(logger, ex.GetType().Name, ex.Message);
            }
        }
    }

    [LoggerMessage(EventId = 5110, Level = LogLevel.Information, Message = "Pruned {Tokens} dead tokens and {Authorizations} dead authorizations")]
    private static partial void LogPruned(ILogger logger, long tokens, long authorizations);

    [LoggerMessage(EventId = 5111, Level = LogLevel.Warning, Message = "Could not prune dead tokens ({ExceptionType}: {Reason}); retrying in an hour")]
    private static partial void LogPruneFailed(ILogger logger, string exceptionType, string reason);
}
