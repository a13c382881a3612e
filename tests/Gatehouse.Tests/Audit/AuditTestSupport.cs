using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.Storage;
using Gatehouse.Tests.Infrastructure;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Tests.Audit;

/// <summary>
/// A test database the gateway's audit writes can be cut off from and given back: SQLite by holding its write lock
/// from another connection, PostgreSQL by pausing a TCP forwarder the gateway connects through. The test itself reads
/// the table directly (<see cref="Direct"/>), blocked or not.
/// </summary>
internal abstract class BlockableStorage : IAsyncDisposable
{
    protected BlockableStorage(TestStorage storage)
    {
        Storage = storage;
        Direct = new DirectDatabase(storage);
    }

    public TestStorage Storage { get; }

    public DirectDatabase Direct { get; }

    /// <summary>The top-level YAML the gateway starts with.</summary>
    public abstract string GatewayYaml { get; }

    /// <summary>A gateway on this storage with <see cref="AuditRecords.Routes"/> and the given <c>audit:</c> line.</summary>
    public Task<TestGateway> StartGatewayAsync(string? auditYaml = null, Action<IServiceCollection>? configureServices = null) =>
        TestGateway.StartAsync(AuditRecords.Routes, GatewayYaml + "\n" + auditYaml, configureServices);

    /// <summary>Until the result is disposed, the gateway's writes to the database cannot complete.</summary>
    public abstract Task<IAsyncDisposable> BlockAsync();

    public virtual async ValueTask DisposeAsync()
    {
        await Direct.DisposeAsync();
        await Storage.DisposeAsync();
    }
}

internal sealed class SqliteBlockableStorage() : BlockableStorage(new SqliteTestStorage())
{
    public override string GatewayYaml => Storage.Yaml;

    /// <summary>
    /// <c>BEGIN IMMEDIATE</c> takes SQLite's one write lock: the gateway's inserts wait in the busy handler (up to its
    /// 30 s timeout, then they fail and are retried) until the transaction ends.
    /// </summary>
    public override async Task<IAsyncDisposable> BlockAsync()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(Storage.DataDirectory, StorageExtensions.SqliteFileName),
            Pooling = false,
        }.ToString());
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using (var begin = connection.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE;";
            await begin.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        return new Release(async () =>
        {
            await using (var rollback = connection.CreateCommand())
            {
                rollback.CommandText = "ROLLBACK;";
                await rollback.ExecuteNonQueryAsync();
            }

            await connection.DisposeAsync();
        });
    }
}

internal sealed class PostgresBlockableStorage : BlockableStorage
{
    private readonly TcpForwarder _forwarder;
    private readonly string _viaForwarder;

    private PostgresBlockableStorage(PostgresTestStorage storage) : base(storage)
    {
        var server = new Npgsql.NpgsqlConnectionStringBuilder(storage.ConnectionString);
        _forwarder = new TcpForwarder(new IPEndPoint(IPAddress.Parse(server.Host!), server.Port));
        _viaForwarder = new Npgsql.NpgsqlConnectionStringBuilder(storage.ConnectionString) { Port = _forwarder.Port }.ConnectionString;
    }

    public static async Task<BlockableStorage> CreateAsync() => new PostgresBlockableStorage(await PostgresTestStorage.CreateAsync());

    public override string GatewayYaml => ((PostgresTestStorage)Storage).YamlFor(_viaForwarder);

    /// <summary>The database goes away for the gateway (connections cut and refused) and comes back on release.</summary>
    public override Task<IAsyncDisposable> BlockAsync()
    {
        _forwarder.Pause();
        return Task.FromResult<IAsyncDisposable>(new Release(() =>
        {
            _forwarder.Resume();
            return Task.CompletedTask;
        }));
    }

    public override async ValueTask DisposeAsync()
    {
        await _forwarder.DisposeAsync();
        await base.DisposeAsync();
    }
}

internal sealed class Release(Func<Task> release) : IAsyncDisposable
{
    private int _released;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            await release();
        }
    }
}

/// <summary>The test's own connection to a test database, migrated, independent of any gateway.</summary>
internal sealed class DirectDatabase : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    public DirectDatabase(TestStorage storage)
    {
        var config = YamlConfigReader.Parse(TestGateway.Compose(AuditRecords.Routes, storage.Yaml));
        _services = new ServiceCollection().AddLogging().AddGatehouseDatabase(config).BuildServiceProvider();
    }

    public async Task MigrateAsync()
    {
        await using var scope = _services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<GatehouseDbContext>().Database.MigrateAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Every audit row, in insertion order.</summary>
    public async Task<List<AuditEntry>> ReadAsync()
    {
        await using var scope = _services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        return await db.AuditRecords.AsNoTracking().OrderBy(e => e.Id).ToListAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>SQLite's plan for <see cref="AuditLogReader.Query"/> (EXPLAIN QUERY PLAN), one line per step.</summary>
    public async Task<string> SqliteQueryPlanAsync(AuditFilter filter)
    {
        await using var scope = _services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        await db.Database.OpenConnectionAsync(TestContext.Current.CancellationToken);
        await using var command = AuditLogReader.Query(db, filter).CreateDbCommand();
        command.CommandText = "EXPLAIN QUERY PLAN " + command.CommandText;
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        var plan = new StringBuilder();
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            plan.AppendLine(reader.GetString(3));
        }

        return plan.ToString();
    }

    public async Task<int> CountAsync()
    {
        await using var scope = _services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<GatehouseDbContext>().AuditRecords.CountAsync(TestContext.Current.CancellationToken);
    }

    public async Task AddAsync(IEnumerable<AuditEntry> entries)
    {
        await using var scope = _services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        db.AuditRecords.AddRange(entries);
        await db.SaveChangesAsync(TestContext.Current.CancellationToken);
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}

/// <summary>Sums one counter of one gateway (its own meter factory), whatever other gateways in the process count.</summary>
internal sealed class CounterListener : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<long> _measurements = [];
    private long _total;

    public CounterListener(IServiceProvider services, string name)
    {
        var factory = services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name == name && instrument.Meter.Scope == factory)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) =>
        {
            lock (_measurements)
            {
                _measurements.Add(value);
            }

            Interlocked.Add(ref _total, value);
        });
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    /// <summary>Every value recorded, in order (for <c>gatehouse.audit.written</c>: the size of each stored batch).</summary>
    public List<long> Measurements
    {
        get
        {
            lock (_measurements)
            {
                return [.. _measurements];
            }
        }
    }

    public void Dispose() => _listener.Dispose();
}

internal static class AuditRecords
{
    /// <summary>The routes of the audit tests' gateways: one public route named as the records name it.</summary>
    public const string Routes = """
          - name: northwind
            from: http://127.0.0.1
            to: http://127.0.0.1:9
            allow_public_unauthenticated_access: true
        """;

    /// <summary>The request ids of <see cref="Record"/> 0 to <paramref name="count"/> - 1, in order.</summary>
    public static IEnumerable<string> RequestIds(int count) => Enumerable.Range(0, count).Select(i => $"req-{i}");

    /// <summary>A record with every field set; <paramref name="i"/> makes it distinct and orders it.</summary>
    public static AuditRecord Record(int i, string? arguments = null, DateTimeOffset? time = null) => new()
    {
        // Whole milliseconds: what the table keeps.
        Time = DateTimeOffset.FromUnixTimeMilliseconds((time ?? DateTimeOffset.UtcNow).ToUnixTimeMilliseconds()),
        RequestId = $"req-{i}",
        Subject = "sub-alice",
        Email = "Alice@Example.com",
        ClientId = "https://app.example.com/client.json",
        Route = "northwind",
        SessionId = "session-1",
        JsonRpcId = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
        Method = "tools/call",
        Target = "query",
        Arguments = arguments is null ? default : Encoding.UTF8.GetBytes(arguments),
        Decision = (AuditDecision)(i % 4),
        Rule = i % 4 == 1 ? "routes[0].policy.deny[0]" : null,
        UpstreamStatus = i % 4 == 1 ? null : 200,
        ErrorCode = i % 4 == 1 ? -32001 : null,
        LatencyMs = 1.25 + i,
    };
}
