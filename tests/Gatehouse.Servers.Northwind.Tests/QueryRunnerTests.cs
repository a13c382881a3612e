using Gatehouse.Servers.Northwind.Data;
using Gatehouse.Servers.Northwind.Query;
using Gatehouse.Servers.Northwind.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Servers.Northwind.Tests;

/// <summary>The query runner on its own, where limits can be made small enough to test quickly.</summary>
public sealed class QueryRunnerTests : IDisposable
{
    // Never finishes on its own: only the time limit or cancellation stops it.
    private const string Runaway = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n";

    private readonly TempDirectory _directory = new();
    private readonly NorthwindDatabase _database;

    public QueryRunnerTests()
    {
        _database = new NorthwindDatabase(_directory.File("northwind.db"));
        _database.EnsureCreated(NullLogger.Instance);
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Execute_RunawayQuery_IsStoppedAtTheTimeLimit()
    {
        var runner = Runner(new QueryLimits { Timeout = TimeSpan.FromMilliseconds(300) });

        // Runaway never ends on its own, so an answer at all means the limit stopped it; the message says which limit.
        // (No wall-clock bound: a loaded CI machine may take longer to get there.)
        var result = runner.Execute(Runaway, TestContext.Current.CancellationToken);

        Assert.True(result.IsError);
        Assert.Contains("ran longer than the 0.3 s limit", result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Execute_CancelledWhileRunning_ThrowsOperationCanceled()
    {
        var runner = Runner(new QueryLimits { Timeout = TimeSpan.FromSeconds(30) });
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromMilliseconds(200));

        // Had cancellation not stopped it, the 30 s limit would have, with an error result rather than this exception.
        Assert.ThrowsAny<OperationCanceledException>(() => runner.Execute(Runaway, cts.Token));
    }

    [Fact]
    public void Execute_SmallerRowCap_IsHonoured()
    {
        var runner = Runner(new QueryLimits { MaxRows = 3 });

        var result = runner.Execute("SELECT customer_id FROM customers", TestContext.Current.CancellationToken);

        Assert.False(result.IsError, result.Text);
        Assert.Contains("\"rowCount\":3,\"truncated\":true", result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Execute_HugeValue_FailsOnTheLengthLimit()
    {
        var runner = Runner(QueryLimits.Default);

        var result = runner.Execute("SELECT length(randomblob(50000000))", TestContext.Current.CancellationToken);

        Assert.True(result.IsError);
        Assert.Contains("too big", result.Text, StringComparison.Ordinal);
    }

    private ReadOnlyQueryRunner Runner(QueryLimits limits) =>
        new(_database, limits, TimeProvider.System, NullLogger<ReadOnlyQueryRunner>.Instance);
}
