using System.CommandLine;
using System.Data.Common;
using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.Revocation;
using Gatehouse.ServiceAccounts;
using Gatehouse.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging.Console;

namespace Gatehouse.Cli;

/// <summary>
/// Checks a command's arguments against the configuration, adding each mistake to <paramref name="problems"/>, and
/// returns the work to do on the storage (which runs only when there is no mistake).
/// </summary>
internal delegate Func<CommandStorage, Task<int>> CommandWork(GatewayConfig config, List<string> problems);

/// <summary>
/// The gateway's storage opened by a command, without the gateway: the database the configuration names (SQLite in
/// <c>data_dir</c> or PostgreSQL), migrated when it is new or older, behind a service provider with just what the
/// stores need. What a command writes there (a revocation, say) reaches running gateways the way another replica's
/// writes do.
/// </summary>
internal sealed class CommandStorage : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private CommandStorage(ServiceProvider services) => _services = services;

    public ServiceAccountStore ServiceAccounts => _services.GetRequiredService<ServiceAccountStore>();

    public TimeProvider Time => _services.GetRequiredService<TimeProvider>();

    public AuditLogReader Audit => _services.GetRequiredService<AuditLogReader>();

    /// <summary>
    /// The action of a command that works on the storage of its <c>--config</c>: loads the configuration (its errors
    /// are printed, exit code 1), lets <paramref name="prepare"/> check the arguments against it (the mistakes it lists
    /// are printed, exit code 1, and no storage is opened), then opens the storage and runs the work on it. A storage
    /// that cannot be reached or used is reported in one line with exit code 1, not as a stack trace.
    /// </summary>
    public static async Task<int> RunAsync(ParseResult parse, Option<FileInfo> config, CommandWork prepare, CancellationToken cancellationToken)
    {
        var error = parse.InvocationConfiguration.Error;
        if (await CliOptions.LoadConfigAsync(parse.GetRequiredValue(config), error) is not { } loaded)
        {
            return 1;
        }

        var problems = new List<string>();
        var work = prepare(loaded, problems);
        if (problems.Count > 0)
        {
            await error.WriteLineAsync(string.Join(Environment.NewLine, problems));
            return 1;
        }

        return await RunAsync(loaded, error, work, cancellationToken);
    }

    private static async Task<int> RunAsync(GatewayConfig config, TextWriter error, Func<CommandStorage, Task<int>> action, CancellationToken cancellationToken)
    {
        var provider = config.Storage.Type == StorageType.Postgres ? "PostgreSQL" : "SQLite in " + config.DataDirectory;
        CommandStorage storage;
        try
        {
            storage = await OpenAsync(config, cancellationToken);
        }
        catch (Exception ex) when (StorageFailure(ex) is { } failure)
        {
            // Driver messages name the host and database, never the connection string (it may carry a password).
            await error.WriteLineAsync($"Cannot open the storage ({provider}): {failure}");
            return 1;
        }

        await using (storage)
        {
            try
            {
                return await action(storage);
            }
            catch (Exception ex) when (StorageFailure(ex) is { } failure)
            {
                await error.WriteLineAsync($"The storage ({provider}) failed: {failure}");
                return 1;
            }
        }
    }

    private static async Task<CommandStorage> OpenAsync(GatewayConfig config, CancellationToken cancellationToken)
    {
        var services = new ServiceCollection();

        // Standard output belongs to the command's result (`TOKEN=$(gatehouse service-account create ...)`): log lines go
        // to standard error, warnings and errors only, and none of EF Core's about a failed connection or command, which
        // would repeat the one message the command prints.
        services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Microsoft.EntityFrameworkCore.Database", LogLevel.None)
            .AddSimpleConsole(console => console.SingleLine = true));
        services.Configure<ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);

        services.AddSingleton(TimeProvider.System);
        services.AddGatehouseDatabase(config);
        services.AddMemoryCache();
        services.AddSingleton<RevocationList>();
        services.AddSingleton<ServiceAccountStore>();
        services.AddSingleton<AuditLogReader>();

        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true, ValidateOnBuild = true });
        try
        {
            var logger = provider.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Cli");
            await StorageInitializer.MigrateAsync(provider.GetRequiredService<IServiceScopeFactory>(), provider.GetRequiredService<StorageLocation>(), logger, cancellationToken);
            return new CommandStorage(provider);
        }
        catch
        {
            await provider.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// What went wrong with the storage, when that is why <paramref name="exception"/> was thrown: the first database
    /// or I/O error in its chain (providers wrap them, in "likely due to a transient failure" for one), with its cause.
    /// </summary>
    private static string? StorageFailure(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is DbException or DbUpdateException or IOException or UnauthorizedAccessException or TimeoutException)
            {
                return e.InnerException is { } cause ? $"{e.Message} ({cause.Message})" : e.Message;
            }
        }

        return null;
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
