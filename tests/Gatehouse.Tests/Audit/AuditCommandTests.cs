using System.Text.Json;
using Gatehouse.Audit;
using Gatehouse.Tests.Cli;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Audit;

/// <summary>
/// `gatehouse audit` run in-process over records in a real database, once per provider
/// (<see cref="SqliteAuditCommandTests"/>, <see cref="PostgresAuditCommandTests"/>): every filter, the table and the
/// JSON lines.
/// </summary>
public abstract class AuditCommandTests
{
    private static readonly DateTimeOffset s_now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    private protected abstract Task<TestStorage> CreateStorageAsync();

    /// <summary>Five records: r1 to r4 in the last two hours (oldest first), r0 three days old.</summary>
    private static IEnumerable<AuditEntry> Entries() =>
    [
        Entry("r0", TimeSpan.FromDays(3), "alice@example.com", "a", "tools/call", "list_tables", AuditDecision.Allowed),
        Entry("r1", TimeSpan.FromHours(2), "alice@example.com", "a", "tools/call", "query", AuditDecision.Allowed),
        Entry("r2", TimeSpan.FromMinutes(90), "bob@example.com", "a", "tools/call", "drop_table", AuditDecision.Denied),
        Entry("r3", TimeSpan.FromMinutes(30), "alice@example.com", "b", "prompts/get", "summary", AuditDecision.Refused),
        Entry("r4", TimeSpan.FromMinutes(10), "alice@example.com", "a", "tools/call", "query", AuditDecision.Failed),
    ];

    private static AuditEntry Entry(string requestId, TimeSpan age, string email, string route, string method, string target, AuditDecision decision)
    {
        var entry = AuditEntry.From(new AuditRecord
        {
            Time = s_now - age,
            RequestId = requestId,
            Subject = "sub-" + email,
            Email = email,
            ClientId = "service-account:5cd0e835aefb044e",
            Route = route,
            SessionId = "s-1",
            JsonRpcId = "7",
            Method = method,
            Target = target,
            Decision = decision,
        }, """{"sql":"select 1","password":"[redacted]"}""");
        switch (decision)
        {
            case AuditDecision.Allowed:
                entry.UpstreamStatus = 200;
                entry.LatencyMs = 12.5;
                break;
            case AuditDecision.Denied:
                entry.Rule = "routes[0].policy.deny[0]";
                entry.ErrorCode = -32001;
                break;
            case AuditDecision.Failed:
                entry.UpstreamStatus = 502;
                entry.ErrorCode = -32603;
                break;
        }

        return entry;
    }

    /// <summary>Runs `gatehouse audit --config FILE ARGS` over a fresh database holding <see cref="Entries"/>.</summary>
    private async Task<ProcessResult> AuditAsync(params string[] args)
    {
        await using var storage = await CreateStorageAsync();
        var config = await ServiceAccountCommandTests.WriteConfigAsync(storage.DataDirectory, storage.Yaml);
        await using (var direct = new DirectDatabase(storage))
        {
            await direct.MigrateAsync();
            await direct.AddAsync(Entries());
        }

        return await InProcessCli.AuditAsync(["--config", config, .. args]);
    }

    [Theory]
    [InlineData(new string[0], new[] { "r0", "r1", "r2", "r3", "r4" })]
    [InlineData(new[] { "--user", "ALICE@example.com" }, new[] { "r0", "r1", "r3", "r4" })]
    [InlineData(new[] { "--route", "b" }, new[] { "r3" })]
    [InlineData(new[] { "--tool", "query" }, new[] { "r1", "r4" })]
    [InlineData(new[] { "--decision", "denied" }, new[] { "r2" })]
    [InlineData(new[] { "--decision", "deny" }, new[] { "r2" })]
    [InlineData(new[] { "--decision", "Refused" }, new[] { "r3" })]
    [InlineData(new[] { "--since", "1h" }, new[] { "r3", "r4" })]
    [InlineData(new[] { "--until", "1h" }, new[] { "r0", "r1", "r2" })]
    [InlineData(new[] { "--since", "100m", "--until", "20m" }, new[] { "r2", "r3" })]
    [InlineData(new[] { "--request-id", "r2" }, new[] { "r2" })]
    [InlineData(new[] { "--user", "alice@example.com", "--route", "a", "--since", "24h" }, new[] { "r1", "r4" })]
    [InlineData(new[] { "--limit", "2" }, new[] { "r3", "r4" })]
    [InlineData(new[] { "--user", "carol@example.com" }, new string[0])]
    public async Task Audit_Filters_MatchingRecordsOldestFirst(string[] filters, string[] expected)
    {
        var result = await AuditAsync(["--json", .. filters]);

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Equal(expected, result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => JsonDocument.Parse(line).RootElement.GetProperty("request_id").GetString()));
    }

    [Fact]
    public async Task Audit_SinceAnInstant_RecordsFromThen()
    {
        var since = (s_now - TimeSpan.FromDays(1)).UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);

        var result = await AuditAsync("--since", since, "--decision", "allowed");

        Assert.True(result.ExitCode == 0, result.Stderr);
        Assert.Contains(" query ", result.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("list_tables", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_Table_OneRowPerRecordWithEveryColumn()
    {
        var result = await AuditAsync("--since", "24h");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var lines = result.Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(5, lines.Length);
        Assert.Matches(@"^TIME\s+USER\s+CLIENT\s+ROUTE\s+METHOD\s+TARGET\s+DECISION\s+RULE\s+STATUS\s+LATENCY$", lines[0]);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\s+alice@example\.com\s+service-account:5cd0e835aefb044e\s+a\s+tools/call\s+query\s+allowed\s+-\s+200\s+12\.5ms$", lines[1]);
        Assert.Matches(@"\s+bob@example\.com\s+.*\s+drop_table\s+denied\s+routes\[0\]\.policy\.deny\[0\]\s+err -32001\s+-$", lines[2]);
        Assert.Matches(@"\s+b\s+prompts/get\s+summary\s+refused\s+-\s+-\s+-$", lines[3]);
        Assert.Matches(@"\s+query\s+failed\s+-\s+502 err -32603\s+-$", lines[4]);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public async Task Audit_Json_EveryFieldWithArgumentsAndIdAsJson()
    {
        var result = await AuditAsync("--json", "--request-id", "r2");

        Assert.True(result.ExitCode == 0, result.Stderr);
        var line = Assert.Single(result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var json = JsonDocument.Parse(line).RootElement;
        Assert.Equal(
            ["time", "request_id", "subject", "email", "client_id", "route", "session_id", "jsonrpc_id", "method", "target", "arguments",
                "decision", "rule", "upstream_status", "error_code", "latency_ms"],
            json.EnumerateObject().Select(p => p.Name));
        Assert.Equal((s_now - TimeSpan.FromMinutes(90)).UtcDateTime, json.GetProperty("time").GetDateTime().ToUniversalTime());
        Assert.Equal(7, json.GetProperty("jsonrpc_id").GetInt32());
        Assert.Equal("[redacted]", json.GetProperty("arguments").GetProperty("password").GetString());
        Assert.Equal(("bob@example.com", "denied", -32001), (json.GetProperty("email").GetString(), json.GetProperty("decision").GetString(), json.GetProperty("error_code").GetInt32()));
        Assert.Equal(JsonValueKind.Null, json.GetProperty("upstream_status").ValueKind);
    }

    [Fact]
    public async Task Audit_MoreThanTheLimit_SaysSoOnStderr()
    {
        var result = await AuditAsync("--limit", "4");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(5, result.Stdout.TrimEnd('\n').Split('\n').Length);
        Assert.StartsWith("Showing the newest 4 matching records; older ones match too", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_NothingMatches_SaysSo()
    {
        var result = await AuditAsync("--route", "nowhere");

        Assert.Equal((0, "No audit records match.\n"), (result.ExitCode, result.Stdout));
    }
}

public sealed class SqliteAuditCommandTests : AuditCommandTests
{
    private protected override Task<TestStorage> CreateStorageAsync() => Task.FromResult<TestStorage>(new SqliteTestStorage());

    /// <summary>
    /// Only some filters have an index of their own (fewer indexes, cheaper inserts on the proxy's CPU); each of those
    /// must be used, and every query must read in time order rather than sort. SQLite uses the partial index of
    /// decisions only when the query states its condition, which the reader adds.
    /// </summary>
    [Theory]
    [InlineData("", "IX_AuditRecords_Time")]
    [InlineData("user", "IX_AuditRecords_Email_Time")]
    [InlineData("request", "IX_AuditRecords_RequestId")]
    [InlineData("denied", "IX_AuditRecords_Decision_Time")]
    [InlineData("refused", "IX_AuditRecords_Decision_Time")]
    [InlineData("route", "IX_AuditRecords_Time")]
    [InlineData("tool", "IX_AuditRecords_Time")]
    public async Task Query_EachFilter_UsesItsIndex(string filter, string index)
    {
        await using var storage = new SqliteTestStorage();
        await using var direct = new DirectDatabase(storage);
        await direct.MigrateAsync();

        var plan = await direct.SqliteQueryPlanAsync(filter switch
        {
            "user" => new AuditFilter { Email = "alice@example.com" },
            "request" => new AuditFilter { RequestId = "r2" },
            "denied" => new AuditFilter { Decision = AuditDecision.Denied },
            "refused" => new AuditFilter { Decision = AuditDecision.Refused, Since = DateTimeOffset.UtcNow.AddDays(-1) },
            "route" => new AuditFilter { Route = "a" },
            "tool" => new AuditFilter { Target = "query", Since = DateTimeOffset.UtcNow.AddDays(-1) },
            _ => new AuditFilter(),
        });

        Assert.Matches($@"\bINDEX {index}\b", plan);
        if (filter is "" or "route" or "tool")
        {
            Assert.DoesNotContain("TEMP B-TREE", plan, StringComparison.Ordinal);
        }
    }
}

public sealed class PostgresAuditCommandTests : AuditCommandTests
{
    private protected override async Task<TestStorage> CreateStorageAsync() => await PostgresTestStorage.CreateAsync();
}

/// <summary>Mistakes with `gatehouse audit`: one clear line on standard error, exit code 1, and no storage opened.</summary>
public sealed class AuditCommandErrorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gatehouse-audit-cli-").FullName;

    [Theory]
    [InlineData(new[] { "--decision", "maybe" }, "--decision: `maybe` is not a decision; use allowed, denied, refused or failed.")]
    [InlineData(new[] { "--since", "yesterday" }, "--since: `yesterday` is neither a duration (30m, 1h, 720h; units ms, s, m, h) nor an instant (2026-12-01T08:00:00Z, 2026-12-01).")]
    [InlineData(new[] { "--until", "3d" }, "--until: `3d` is neither a duration")]
    [InlineData(new[] { "--since", "1h", "--until", "2h" }, "is not before --until")]
    [InlineData(new[] { "--limit", "0" }, "--limit: 0 is out of range; give a number from 1 to 100000.")]
    [InlineData(new[] { "--limit", "lots" }, "lots")]
    [InlineData(new[] { "--user", " " }, "--user: the value is empty; give one, or leave the option out.")]
    public async Task Audit_BadFlag_OneMessageExitOneNoStorage(string[] args, string message)
    {
        var dataDirectory = Path.Combine(_directory, "data");
        var config = await ServiceAccountCommandTests.WriteConfigAsync(_directory, $"data_dir: '{dataDirectory}'");

        var result = await InProcessCli.AuditAsync(["--config", config, .. args]);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Stdout);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dataDirectory), "no storage is opened for a command that cannot run");
    }

    [Fact]
    public async Task Audit_InvalidConfig_PrintsTheConfigErrors()
    {
        var config = Path.Combine(_directory, "gatehouse.yaml");
        await File.WriteAllTextAsync(config, "audit: {retention: 0}\nroutes:\n  - from: http://127.0.0.1\n    to: http://127.0.0.1:9\n    allow_public_unauthenticated_access: true\n",
            TestContext.Current.CancellationToken);

        var result = await InProcessCli.AuditAsync("--config", config);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("gatehouse.yaml has 1 error(s):", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("audit.retention: 0 would keep audit records forever", result.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
