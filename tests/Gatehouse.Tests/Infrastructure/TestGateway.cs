using System.Collections.Concurrent;
using Gatehouse.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Infrastructure;

/// <summary>
/// The real gateway on 127.0.0.1:0, configured from a YAML file that a test writes (and may rewrite to test live
/// reload). Log entries are captured so tests can assert on the access log and on the absence of errors.
/// </summary>
internal sealed class TestGateway : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _directory;

    private TestGateway(WebApplication app, string directory, string configPath, LogSink logs)
    {
        _app = app;
        _directory = directory;
        ConfigPath = configPath;
        Logs = logs;
        BaseUri = new Uri(app.Urls.First());
        Client = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri BaseUri { get; }

    public HttpClient Client { get; }

    public string ConfigPath { get; }

    public LogSink Logs { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>
    /// Starts a gateway. Write routes with <c>from: http://127.0.0.1</c> (any port); the address is filled in. Unless
    /// <paramref name="extraTopLevelYaml"/> sets <c>data_dir</c>, storage is a fresh SQLite file in the test's directory.
    /// <paramref name="configureServices"/> may replace services after the gateway registered its own.
    /// </summary>
    public static async Task<TestGateway> StartAsync(string routesYaml, string? extraTopLevelYaml = null, Action<IServiceCollection>? configureServices = null)
    {
        var directory = Directory.CreateTempSubdirectory("gatehouse-test-").FullName;
        var configPath = Path.Combine(directory, "gatehouse.yaml");
        if (!SetsTopLevelKey(extraTopLevelYaml, "data_dir"))
        {
            extraTopLevelYaml = $"data_dir: {directory}\n{extraTopLevelYaml}";
        }

        await File.WriteAllTextAsync(configPath, Compose(routesYaml, extraTopLevelYaml), TestContext.Current.CancellationToken);
        var logs = new LogSink();
        var app = GatewayHost.Build(new GatewayHostOptions
        {
            ConfigPath = configPath,
            ConfigureLogging = logging =>
            {
                logging.ClearProviders();
                logging.SetMinimumLevel(LogLevel.Information);
                logging.AddProvider(logs);
            },
            ConfigureServices = configureServices,
        });
        try
        {
            await app.StartAsync(TestContext.Current.CancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new TestGateway(app, directory, configPath, logs);
    }

    /// <summary>The file a test gateway reads: loopback on a free port unless the extra YAML names an address.</summary>
    public static string Compose(string routesYaml, string? extraTopLevelYaml = null) =>
        $"""
        {(SetsTopLevelKey(extraTopLevelYaml, "address") ? "" : "address: 127.0.0.1:0")}
        {extraTopLevelYaml}
        routes:
        {routesYaml}
        """;

    /// <summary>Whether the YAML has <paramref name="key"/> at the top level (not a nested key that ends the same way).</summary>
    private static bool SetsTopLevelKey(string? yaml, string key) =>
        yaml?.Split('\n').Any(line => line.StartsWith(key + ":", StringComparison.Ordinal)) == true;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Collects log entries from every category, for assertions.</summary>
internal sealed class LogSink : ILoggerProvider
{
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new SinkLogger(this, categoryName);

    public void Dispose()
    {
    }

    /// <summary>
    /// Waits (bounded) for an entry: some lines are written just after the response reached the client, such as the
    /// access log line or the reload notice.
    /// </summary>
    public async Task<LogEntry> WaitForAsync(Func<LogEntry, bool> predicate)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            if (Entries.FirstOrDefault(predicate) is { } entry)
            {
                return entry;
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        throw new Xunit.Sdk.XunitException("No log entry matched within 5 s. Entries:\n" + string.Join("\n", Entries.Select(e => $"{e.EventId} {e.Message}")));
    }

    public IEnumerable<LogEntry> Errors => Entries.Where(e => e.Level >= LogLevel.Error || e.Exception is not null);

    /// <summary>
    /// <see cref="Errors"/> but what is no fault of the gateway: the error EF Core logs by design when it first reads the
    /// migrations history of an empty PostgreSQL database (the table does not exist yet), and YARP's warnings that a
    /// client went away in the middle of a request (a browser closing its page while one of its requests was still
    /// being sent or answered), which come with the client's exception.
    /// </summary>
    public IEnumerable<LogEntry> UnexpectedErrors => Errors.Where(e => !(e.Category == "Microsoft.EntityFrameworkCore.Database.Command" && e.EventId == 20102 &&
        e.Message.Contains("\"__EFMigrationsHistory\"", StringComparison.Ordinal)) && !IsClientGone(e));

    /// <summary>YARP's own classification (<c>ForwarderError</c>): the client's side of the copy failed or it cancelled.</summary>
    private static bool IsClientGone(LogEntry entry) =>
        entry.Category == "Yarp.ReverseProxy.Forwarder.HttpForwarder" && entry.Level < LogLevel.Error &&
        (entry.Message.StartsWith("RequestBodyClient:", StringComparison.Ordinal) ||
         entry.Message.StartsWith("ResponseBodyClient:", StringComparison.Ordinal) ||
         entry.Message.StartsWith("RequestCanceled:", StringComparison.Ordinal));

    private sealed class SinkLogger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Entries.Enqueue(new LogEntry(category, logLevel, eventId.Id, formatter(state, exception), exception));
    }
}

internal sealed record LogEntry(string Category, LogLevel Level, int EventId, string Message, Exception? Exception);
