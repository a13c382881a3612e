// Measures the audit writer's work per record, stage by stage, in one process: what the gateway spends off the request
// path for every audited MCP message (docs/performance.md, "Policy and audit cost"). Over HTTP (bench/run.sh) these few
// microseconds are inside what rounds move on a shared VM; here each stage runs alone over the same records many times
// and the least CPU per record is reported, which is what the stage costs when nothing else interferes.
//
//   taskset -c 1 dotnet run -c Release --project bench/Gatehouse.Bench.AuditWriter [-- RECORDS REPETITIONS]
//
// Pin it to one core, as bench/run.sh pins the gateway: the console logger's thread then shares the core as it does
// there. Records are the benchmark's `tools/call` of `echo`, audited as allowed.
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Gatehouse.Audit;
using Gatehouse.Configuration;
using Gatehouse.Hosting;
using Gatehouse.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

var records = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 2000;
var repetitions = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 15;
var directory = Directory.CreateTempSubdirectory("gatehouse-audit-bench-");
try
{
    var config = YamlConfigReader.Parse($"""
        address: 127.0.0.1:0
        data_dir: '{directory.FullName}'
        routes:
          - name: echo-protected
            from: http://127.0.0.1
            to: http://127.0.0.1:9
            allow_public_unauthenticated_access: true
        """);
    var arguments = new AuditArguments(config.Audit.Arguments);
    var argumentsJson = Encoding.UTF8.GetBytes("""{"text":"The quick brown fox jumps over the lazy dog"}""");
    var written = Enumerable.Range(0, records).Select(i => new AuditRecord
    {
        Time = DateTimeOffset.UtcNow,
        RequestId = $"0HNH{i:x8}:00000001",
        Subject = "bench-user-subject-0123456789",
        Email = "bench@example.com",
        ClientId = "gatehouse-bench",
        Route = "echo-protected",
        JsonRpcId = "1",
        Method = "tools/call",
        Target = "echo",
        Arguments = argumentsJson,
        Decision = AuditDecision.Allowed,
        Rule = "policy[0].allow",
        UpstreamStatus = 200,
        LatencyMs = 0.412,
    }).ToArray();
    var queued = written.Select(arguments.Capture).ToArray();
    var entries = queued.Select(q => AuditEntry.From(q.Record, arguments.Render(q))).ToArray();

    Console.WriteLine($"Audit writer, µs of process CPU per record: least and median of {repetitions} runs over {records} records");
    Console.WriteLine();
    Console.WriteLine("| stage | least | median |");
    Console.WriteLine("| --- | ---: | ---: |");
    Report("capture (request path: copy of the arguments)", () =>
    {
        for (var i = 0; i < records; i++)
        {
            queued[i] = arguments.Capture(written[i]);
        }
    });
    Report("redaction (`AuditArguments.Render`)", () =>
    {
        foreach (var record in queued)
        {
            arguments.Render(record);
        }
    });
    Report("redaction, the full copy (`AuditArguments.Rewrite`)", () =>
    {
        for (var i = 0; i < records; i++)
        {
            AuditArguments.Rewrite(argumentsJson, config.Audit.Arguments.RedactKeys);
        }
    });
    Report("cleaning the values (`AuditEntry.From`)", () =>
    {
        for (var i = 0; i < records; i++)
        {
            entries[i] = AuditEntry.From(queued[i].Record, "{}");
        }
    });

    // The log line as the gateway writes it: the console logger with GatewayHost's options, to a file (as bench/run.sh
    // redirects the gateway's output). The wait lets the logger's thread write what was queued within the run.
    var console = Console.Out;
    await using (var file = new StreamWriter(Path.Combine(directory.FullName, "console.txt"), append: false, Encoding.UTF8) { AutoFlush = true })
    {
        Console.SetOut(TextWriter.Synchronized(file));
        using var loggers = LoggerFactory.Create(logging => logging.AddSimpleConsole(GatewayHost.ConfigureConsoleLine));
        var line = new AuditLogLine(config.Audit, loggers);
        var lines = new List<string>();
        Measure(() =>
        {
            foreach (var entry in entries)
            {
                line.Write(entry);
            }

            Thread.Sleep(50);
        }, lines);
        Console.SetOut(console);
        Console.WriteLine($"| the log line (console logger, to a file) | {lines[0]} | {lines[1]} |");
    }

    // The insert, into a migrated SQLite database with Gatehouse's schema, in the writer's batches of 500.
    var services = new ServiceCollection().AddLogging().AddGatehouseDatabase(config).BuildServiceProvider();
    await using (var scope = services.CreateAsyncScope())
    {
        await scope.ServiceProvider.GetRequiredService<GatehouseDbContext>().Database.MigrateAsync();
    }

    void Insert()
    {
        for (var start = 0; start < records; start += AuditWriter.MaxBatchSize)
        {
            using var scope = services.CreateScope();
            var batch = new ArraySegment<AuditEntry>(entries, start, Math.Min(AuditWriter.MaxBatchSize, records - start));
            AuditInsert.InsertAsync(scope.ServiceProvider.GetRequiredService<GatehouseDbContext>(), batch, CancellationToken.None).GetAwaiter().GetResult();
        }
    }

    Insert();
    Report("insert (SQLite, batches of 500, the table's indexes)", Insert);
    await services.DisposeAsync();
}
finally
{
    Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    directory.Delete(recursive: true);
}

void Report(string stage, Action run)
{
    var figures = new List<string>();
    Measure(run, figures);
    Console.WriteLine($"| {stage} | {figures[0]} | {figures[1]} |");
}

void Measure(Action run, List<string> figures)
{
    run();
    var perRecord = new List<double>();
    for (var repetition = 0; repetition < repetitions; repetition++)
    {
        var before = Process.GetCurrentProcess().TotalProcessorTime;
        run();
        perRecord.Add((Process.GetCurrentProcess().TotalProcessorTime - before).TotalMicroseconds / records);
    }

    perRecord.Sort();
    figures.Add(perRecord[0].ToString("F2", CultureInfo.InvariantCulture));
    figures.Add(perRecord[perRecord.Count / 2].ToString("F2", CultureInfo.InvariantCulture));
}
