using System.Text;
using Gatehouse.Audit;
using Gatehouse.Storage;
using Gatehouse.Tests.Authorization;
using Gatehouse.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Audit;

/// <summary>
/// The audit store on a running gateway, once per provider (<see cref="SqliteAuditStoreTests"/>,
/// <see cref="PostgresAuditStoreTests"/>): records written through <see cref="IAuditSink"/> reach the table in order
/// and intact, in batches, with back-pressure while storage is down and a flush on shutdown; retention deletes only
/// old rows.
/// </summary>
public abstract class AuditStoreTests
{
    private protected abstract Task<BlockableStorage> CreateStorageAsync();

    [Fact]
    public async Task WriteAsync_ThroughRunningGateway_RowsInOrderIntactAndRedacted()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await storage.StartGatewayAsync();
        var sink = gateway.Services.GetRequiredService<IAuditSink>();
        var buffer = Encoding.UTF8.GetBytes("""{"sql":"select 1","auth":{"Password":"hunter2"}}""");
        var written = new List<AuditRecord>();

        for (var i = 0; i < 20; i++)
        {
            var record = AuditRecords.Record(i) with { Arguments = buffer };
            written.Add(record);
            await sink.WriteAsync(record, TestContext.Current.CancellationToken);
        }

        // The sink copied the arguments: the proxy may reuse its buffer as soon as the write returns.
        buffer.AsSpan().Fill((byte)'x');
        await AuthorizationServerHost.EventuallyAsync(async () => await storage.Direct.CountAsync() == 20, "20 audit rows", seconds: 30);
        var rows = await storage.Direct.ReadAsync();
        Assert.Equal(written.Select(r => r.RequestId), rows.Select(r => r.RequestId));
        foreach (var (record, row) in written.Zip(rows))
        {
            Assert.Equal(
                (record.Time, record.Subject, "alice@example.com", record.ClientId, record.Route, record.SessionId, record.JsonRpcId, record.Method, record.Target),
                (row.Time, row.Subject, row.Email, row.ClientId, row.Route, row.SessionId, row.JsonRpcId, row.Method, row.Target));
            Assert.Equal((record.Decision, record.Rule, record.UpstreamStatus, record.ErrorCode, record.LatencyMs),
                (row.Decision, row.Rule, row.UpstreamStatus, row.ErrorCode, row.LatencyMs));
            Assert.Equal("""{"sql":"select 1","auth":{"Password":"[redacted]"}}""", row.Arguments);
        }

        var line = await gateway.Logs.WaitForAsync(e => e.Category == AuditLogLine.Category && e.EventId == 6000 && e.Message.Contains("request_id=req-1 ", StringComparison.Ordinal));
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.StartsWith("denied northwind tools/call query user=alice@example.com", line.Message, StringComparison.Ordinal);
        Assert.EndsWith("""arguments={"sql":"select 1","auth":{"Password":"[redacted]"}}""", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Message.Contains("hunter2", StringComparison.Ordinal));
        Assert.Empty(gateway.Logs.UnexpectedErrors);
    }

    [Fact]
    public async Task WriteAsync_ManyRecords_StoredInFewBatchesOfAtMost500()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await storage.StartGatewayAsync();
        var sink = gateway.Services.GetRequiredService<IAuditSink>();
        // The writer counts each batch once its transaction has committed.
        using var batches = new CounterListener(gateway.Services, "gatehouse.audit.written");

        for (var i = 0; i < 1200; i++)
        {
            await sink.WriteAsync(AuditRecords.Record(i), TestContext.Current.CancellationToken);
        }

        await AuthorizationServerHost.EventuallyAsync(() => Task.FromResult(batches.Total >= 1200), "1200 audit rows stored", seconds: 30);
        var sizes = batches.Measurements;
        Assert.Equal(1200, sizes.Sum());
        Assert.All(sizes, size => Assert.InRange(size, 1, AuditWriter.MaxBatchSize));
        // At least three (500 + 500 + 200); a few more only if the writer caught up with the test between records.
        Assert.InRange(sizes.Count, 3, 10);
        Assert.Equal(AuditRecords.RequestIds(1200), (await storage.Direct.ReadAsync()).Select(r => r.RequestId));
    }

    [Fact]
    public async Task WriteAsync_StorageBlockedAndQueueFull_WritersWaitCountedThenNothingLost()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await storage.StartGatewayAsync("audit: {queue_size: 2}");
        var sink = gateway.Services.GetRequiredService<IAuditSink>();
        using var queueFull = new CounterListener(gateway.Services, "gatehouse.audit.queue_full");
        using var written = new CounterListener(gateway.Services, "gatehouse.audit.written");
        var writes = new List<Task>();

        // The writer takes at most one batch (500) and cannot store it; two more fit the queue; the rest must wait.
        const int Count = AuditWriter.MaxBatchSize + 100;
        await using (await storage.BlockAsync())
        {
            for (var i = 0; i < Count; i++)
            {
                writes.Add(sink.WriteAsync(AuditRecords.Record(i), TestContext.Current.CancellationToken).AsTask());
            }

            await AuthorizationServerHost.EventuallyAsync(() => Task.FromResult(queueFull.Total > 0), "a write waits for room");
            Assert.Contains(writes, write => !write.IsCompleted);
            Assert.Equal(0, written.Total);
        }

        await Task.WhenAll(writes).WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        await AuthorizationServerHost.EventuallyAsync(async () => await storage.Direct.CountAsync() == Count, $"all {Count} audit rows", seconds: 60);
        Assert.Equal(AuditRecords.RequestIds(Count), (await storage.Direct.ReadAsync()).Select(r => r.RequestId));
        Assert.Equal(Count, written.Total);
        Assert.True(queueFull.Total >= 98, $"gatehouse.audit.queue_full counted {queueFull.Total} waits");
        Assert.Contains(gateway.Logs.Entries, e => e.EventId == 6004);
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.EventId == 6003);
    }

    [Fact]
    public async Task Stop_RecordsQueuedWhileStorageBlocked_FlushedBeforeStopReturns()
    {
        const int Count = AuditWriter.MaxBatchSize + 100;
        await using var storage = await CreateStorageAsync();
        var gateway = await storage.StartGatewayAsync();
        var queue = gateway.Services.GetRequiredService<AuditQueue>();
        var block = await storage.BlockAsync();
        Task? stopping = null;
        try
        {
            // One batch held by the blocked writer, the rest still in the queue when the gateway stops.
            for (var i = 0; i < Count; i++)
            {
                await gateway.Services.GetRequiredService<IAuditSink>().WriteAsync(AuditRecords.Record(i), TestContext.Current.CancellationToken);
            }

            stopping = gateway.DisposeAsync().AsTask();
            await AuthorizationServerHost.EventuallyAsync(() => Task.FromResult(queue.IsClosed), "the writer is stopping");
            Assert.False(stopping.IsCompleted, "stop waits for the queued records");
        }
        finally
        {
            await block.DisposeAsync();
            await (stopping ?? gateway.DisposeAsync().AsTask());
        }

        Assert.Equal(AuditRecords.RequestIds(Count), (await storage.Direct.ReadAsync()).Select(r => r.RequestId));
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.EventId == 6003);
    }

    [Fact]
    public async Task WriteAsync_CancelledWhileQueueFull_ThrowsAndRecordGoesToTheLogAsNotStored()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await storage.StartGatewayAsync("audit: {queue_size: 1, log: false}");
        var sink = gateway.Services.GetRequiredService<IAuditSink>();
        using var lost = new CounterListener(gateway.Services, "gatehouse.audit.lost");

        await using (await storage.BlockAsync())
        {
            // One batch held by the blocked writer, one record queued, two writers waiting: the next write waits too.
            var fills = Enumerable.Range(0, AuditWriter.MaxBatchSize + 3).Select(i => sink.WriteAsync(AuditRecords.Record(i), TestContext.Current.CancellationToken).AsTask()).ToList();
            using var giveUp = new CancellationTokenSource();
            var waiting = sink.WriteAsync(AuditRecords.Record(99, """{"token":"abc","n":1}"""), giveUp.Token).AsTask();
            Assert.False(waiting.IsCompleted);
            await giveUp.CancelAsync();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
            Assert.Equal(1, lost.Total);
            var line = Assert.Single(gateway.Logs.Entries, e => e.Category == AuditLogLine.Category);
            Assert.Equal((6000, LogLevel.Warning), (line.EventId, line.Level));
            Assert.Contains("request_id=req-99 ", line.Message, StringComparison.Ordinal);
            Assert.EndsWith("""arguments={"token":"[redacted]","n":1}""", line.Message, StringComparison.Ordinal);
            Assert.Contains(gateway.Logs.Entries, e => e.EventId == 6003 && e.Level == LogLevel.Error);
            Assert.Contains(fills, fill => !fill.IsCompleted);
        }
    }

    [Fact]
    public async Task DeleteExpired_RowsAroundTheRetention_DeletesOnlyOlderRowsInChunks()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await storage.StartGatewayAsync("audit: {retention: 720h}");
        var now = DateTimeOffset.UtcNow;
        var ages = new[] { TimeSpan.FromDays(400), TimeSpan.FromDays(31), TimeSpan.FromDays(30) + TimeSpan.FromMinutes(5), TimeSpan.FromDays(30.5), TimeSpan.FromDays(45),
            TimeSpan.FromDays(30) - TimeSpan.FromMinutes(5), TimeSpan.FromDays(1), TimeSpan.Zero };
        await storage.Direct.AddAsync(ages.Select((age, i) => AuditEntry.From(AuditRecords.Record(i, time: now - age), null)));
        var retention = gateway.Services.GetServices<IHostedService>().OfType<AuditRetention>().Single();

        var deleted = await retention.DeleteExpiredAsync(chunkSize: 2, TestContext.Current.CancellationToken);

        Assert.Equal(5, deleted);
        Assert.Equal(["req-5", "req-6", "req-7"], (await storage.Direct.ReadAsync()).Select(r => r.RequestId));
        Assert.Equal(0, await retention.DeleteExpiredAsync(chunkSize: 2, TestContext.Current.CancellationToken));
    }
}

public sealed class SqliteAuditStoreTests : AuditStoreTests
{
    private protected override Task<BlockableStorage> CreateStorageAsync() => Task.FromResult<BlockableStorage>(new SqliteBlockableStorage());
}

public sealed class PostgresAuditStoreTests : AuditStoreTests
{
    private protected override Task<BlockableStorage> CreateStorageAsync() => PostgresBlockableStorage.CreateAsync();
}
