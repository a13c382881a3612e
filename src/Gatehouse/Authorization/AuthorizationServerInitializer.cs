using Gatehouse.Configuration;
using Gatehouse.Proxy;
using Gatehouse.Revocation;

namespace Gatehouse.Authorization;

/// <summary>
/// Start-up of the authorization server, after storage is migrated and before the listener opens: the token
/// encryption key, the revocation list, and the clients of the configuration (synced again on every reload).
/// </summary>
internal sealed partial class AuthorizationServerInitializer(
    OAuthKeys keys, RevocationList revocations, ClientRegistrations registrations, GatewayState state, ILogger<AuthorizationServerInitializer> logger)
    : IHostedService, IDisposable
{
    private readonly SemaphoreSlim _syncLock = new(1, 1);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await keys.LoadAsync(cancellationToken);
        await revocations.RefreshAsync(cancellationToken);
        await SyncAsync(state.Current.Config, cancellationToken);
        state.Applied += OnApplied;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        state.Applied -= OnApplied;
        return Task.CompletedTask;
    }

    public void Dispose() => _syncLock.Dispose();

    private void OnApplied(GatewayConfig config) => _ = SyncInBackgroundAsync(config);

    private async Task SyncInBackgroundAsync(GatewayConfig config)
    {
        try
        {
            await SyncAsync(config, CancellationToken.None);
        }
        catch (Exception ex)
        {
            // The previous clients stay registered; the next reload tries again.
            LogSyncFailed(logger, ex.GetType().Name, ex.Message);
        }
    }

    private async Task SyncAsync(GatewayConfig config, CancellationToken cancellationToken)
    {
        await _syncLock.WaitAsync(cancellationToken);
        try
        {
            await registrations.SyncConfiguredAsync(config.Clients, cancellationToken);
        }
        finally
        {
            _syncLock.Release();
        }
    }

    [LoggerMessage(EventId = 4121, Level = LogLevel.Error, Message = "Could not apply the configured OAuth clients: {ExceptionType}: {Reason}")]
    private static partial void LogSyncFailed(ILogger logger, string exceptionType, string reason);
}
