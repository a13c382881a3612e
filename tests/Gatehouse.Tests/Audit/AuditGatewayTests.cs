using Gatehouse.Audit;
using Gatehouse.Tests.Authorization;
using Gatehouse.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Audit;

/// <summary>How the audit settings shape what a gateway registers and logs (SQLite; the store itself is in <see cref="AuditStoreTests"/>).</summary>
public sealed class AuditGatewayTests
{
    [Fact]
    public async Task Start_AuditDisabled_SinkKeepsNothingAndNoWriterRuns()
    {
        await using var storage = new SqliteBlockableStorage();
        await using var gateway = await storage.StartGatewayAsync("audit: {enabled: false}");

        var sink = gateway.Services.GetRequiredService<IAuditSink>();
        await sink.WriteAsync(AuditRecords.Record(1), TestContext.Current.CancellationToken);

        Assert.IsType<NullAuditSink>(sink);
        Assert.DoesNotContain(gateway.Services.GetServices<IHostedService>(), s => s is AuditWriter or AuditRetention);
        Assert.Equal(0, await storage.Direct.CountAsync());
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Category == AuditLogLine.Category);
    }

    [Fact]
    public async Task WriteAsync_LogOff_StoredButNoLogLine()
    {
        await using var storage = new SqliteBlockableStorage();
        await using var gateway = await storage.StartGatewayAsync("audit: {log: false}");

        await gateway.Services.GetRequiredService<IAuditSink>().WriteAsync(AuditRecords.Record(1), TestContext.Current.CancellationToken);

        await AuthorizationServerHost.EventuallyAsync(async () => await storage.Direct.CountAsync() == 1, "the audit row", seconds: 30);
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Category == AuditLogLine.Category);
    }

    [Fact]
    public async Task WriteAsync_ControlCharactersAndOverlongValues_StoredEscapedAndCut()
    {
        await using var storage = new SqliteBlockableStorage();
        await using var gateway = await storage.StartGatewayAsync();
        var record = AuditRecords.Record(0) with
        {
            Target = "evil\n\u001b[31mtool" + new string('x', 600),
            Method = "tools/call\0",
            Rule = "unpaired \ud800 surrogate",
        };

        await gateway.Services.GetRequiredService<IAuditSink>().WriteAsync(record, TestContext.Current.CancellationToken);

        await AuthorizationServerHost.EventuallyAsync(async () => await storage.Direct.CountAsync() == 1, "the audit row", seconds: 30);
        var row = Assert.Single(await storage.Direct.ReadAsync());
        Assert.StartsWith("evil\\u000a\\u001b[31mtoolxxx", row.Target, StringComparison.Ordinal);
        Assert.Equal(AuditEntry.TargetLength, row.Target!.Length);
        Assert.EndsWith("x…", row.Target, StringComparison.Ordinal);
        Assert.Equal("tools/call\\u0000", row.Method);
        Assert.Equal("unpaired \ufffd surrogate", row.Rule);
        var line = await gateway.Logs.WaitForAsync(e => e.Category == AuditLogLine.Category);
        Assert.DoesNotContain('\n', line.Message);
    }

    [Fact]
    public async Task WriteAsync_AfterTheQueueClosed_LoggedAsNotStoredAndCounted()
    {
        await using var storage = new SqliteBlockableStorage();
        await using var gateway = await storage.StartGatewayAsync("audit: {log: false}");
        using var lost = new CounterListener(gateway.Services, "gatehouse.audit.lost");
        gateway.Services.GetRequiredService<AuditQueue>().Close();

        // A request that outlived the shutdown's grace period: the write neither throws nor vanishes.
        await gateway.Services.GetRequiredService<IAuditSink>().WriteAsync(AuditRecords.Record(7, """{"secret":"s3cr3t"}"""), TestContext.Current.CancellationToken);

        var line = Assert.Single(gateway.Logs.Entries, e => e.Category == AuditLogLine.Category);
        Assert.Equal((6000, LogLevel.Warning), (line.EventId, line.Level));
        Assert.Contains("request_id=req-7 ", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t", line.Message, StringComparison.Ordinal);
        Assert.Contains(gateway.Logs.Entries, e => e.EventId == 6003 && e.Message.Contains("the gateway is stopping", StringComparison.Ordinal));
        Assert.Equal(1, lost.Total);
    }
}
