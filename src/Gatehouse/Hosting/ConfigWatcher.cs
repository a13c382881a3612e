using Gatehouse.Configuration;
using Gatehouse.Observability;
using Gatehouse.Proxy;

namespace Gatehouse.Hosting;

/// <summary>
/// Watches the configuration file and applies a valid change without a restart. An invalid change is logged with
/// every error and the running configuration stays in force: a typo never takes the gateway down.
/// </summary>
internal sealed partial class ConfigWatcher(
    GatewayHostOptions options,
    GatewayState state,
    GatewayTelemetry telemetry,
    ILogger<ConfigWatcher> logger) : BackgroundService
{
    /// <summary>Editors write a file in several steps; wait for them to finish before reading it.</summary>
    private static readonly TimeSpan s_settleDelay = TimeSpan.FromMilliseconds(200);

    private GatewayConfig? _started;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _started = state.Current.Config;
        if (options.ConfigPath is not { } path)
        {
            return;
        }

        var fullPath = Path.GetFullPath(path);
        var changes = System.Threading.Channels.Channel.CreateBounded<bool>(new System.Threading.Channels.BoundedChannelOptions(1)
        {
            FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite,
        });

        // Watch the directory, not the file: editors and Kubernetes ConfigMaps replace the file by renaming.
        using var watcher = new FileSystemWatcher(Path.GetDirectoryName(fullPath)!)
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
            IncludeSubdirectories = false,
        };
        var fileName = Path.GetFileName(fullPath);
        void OnChange(object? sender, FileSystemEventArgs e)
        {
            // Kubernetes mounts a ConfigMap as a symlink into `..data`, which it swaps atomically on update.
            if (string.Equals(e.Name, fileName, StringComparison.Ordinal) ||
                (e is RenamedEventArgs r && string.Equals(r.OldName, fileName, StringComparison.Ordinal)) ||
                e.Name?.StartsWith("..", StringComparison.Ordinal) == true)
            {
                changes.Writer.TryWrite(true);
            }
        }

        watcher.Changed += OnChange;
        watcher.Created += OnChange;
        watcher.Renamed += (s, e) => OnChange(s, e);
        watcher.EnableRaisingEvents = true;

        var lastText = await SafeReadAsync(fullPath, stoppingToken);
        try
        {
            while (await changes.Reader.WaitToReadAsync(stoppingToken))
            {
                await Task.Delay(s_settleDelay, stoppingToken);
                changes.Reader.TryRead(out _);
                var text = await SafeReadAsync(fullPath, stoppingToken);
                if (text is null || text == lastText)
                {
                    continue;
                }

                lastText = text;
                Reload(fullPath, text);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Reload(string path, string text)
    {
        try
        {
            var config = YamlConfigReader.Parse(text, path, Path.GetDirectoryName(path));
            // Compared with what the listeners were started with, not with the last reload, so that every reload
            // that still differs keeps saying a restart is needed.
            var running = _started ?? state.Current.Config;
            if (config.Address != running.Address || config.MetricsAddress != running.MetricsAddress ||
                config.CertificateFile != running.CertificateFile || config.CertificateKeyFile != running.CertificateKeyFile ||
                config.DataDirectory != running.DataDirectory || config.Storage != running.Storage || config.Audit != running.Audit)
            {
                LogRestartNeeded(logger);
            }

            state.Apply(config);
            telemetry.ConfigReloads.Add(1, new KeyValuePair<string, object?>("outcome", "applied"));
            LogReloaded(logger, config.Routes.Count);
        }
        catch (ConfigException ex)
        {
            telemetry.ConfigReloads.Add(1, new KeyValuePair<string, object?>("outcome", "rejected"));
            LogRejected(logger, ex.Message);
        }
    }

    private async Task<string?> SafeReadAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await File.ReadAllTextAsync(path, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogUnreadable(logger, path, ex.Message);
            return null;
        }
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Configuration reloaded: {RouteCount} route(s) in force")]
    private static partial void LogReloaded(ILogger logger, int routeCount);

    [LoggerMessage(EventId = 101, Level = LogLevel.Error, Message = "Configuration change rejected; the running configuration stays in force. {Errors}")]
    private static partial void LogRejected(ILogger logger, string errors);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "Listener, storage or audit settings (address, metrics_address, certificates, data_dir, databroker_storage_*, audit) changed: they apply after a restart")]
    private static partial void LogRestartNeeded(ILogger logger);

    [LoggerMessage(EventId = 103, Level = LogLevel.Warning, Message = "Cannot read the configuration file {Path}: {Reason}")]
    private static partial void LogUnreadable(ILogger logger, string path, string reason);
}
