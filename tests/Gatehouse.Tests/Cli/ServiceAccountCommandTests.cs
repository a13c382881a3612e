using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;
using Gatehouse.Tests.ServiceAccounts;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// The built `gatehouse service-account` as a separate process, as an operator or a CI script runs it
/// (<c>TOKEN=$(gatehouse service-account create ...)</c>), once per storage provider
/// (<see cref="SqliteServiceAccountCommandTests"/>, <see cref="PostgresServiceAccountCommandTests"/>).
/// </summary>
public abstract partial class ServiceAccountCommandTests
{
    private protected abstract Task<TestStorage> CreateStorageAsync();

    [Fact]
    public async Task Create_AsProcess_PrintsOnlyTheTokenWhichAnMcpClientUses()
    {
        await using var storage = await CreateStorageAsync();
        await using var upstream = await TestMcpServer.StartAsync();
        await using var gateway = await TestGateway.StartAsync($"""
              - name: a
                from: http://127.0.0.1
                prefix: /mcp
                to: {upstream.Origin}
                mcp:
                  server: {"{}"}
            """, storage.Yaml);

        var (exitCode, stdout, stderr) = await CliTests.RunAsync(
            "service-account", "create", "--config", gateway.ConfigPath, "--user", "ci@example.com", "--groups", "sales", "--expires", "24h");

        Assert.True(exitCode == 0, stderr);
        Assert.Matches(OnlyAToken(), stdout);
        var token = stdout.TrimEnd('\n');
        Assert.DoesNotContain(token[^43..], stderr, StringComparison.Ordinal);
        Assert.Contains($"Created service account {ServiceAccountTests.IdOf(token)}: acts as ci@example.com (groups: sales) on all MCP routes", stderr, StringComparison.Ordinal);

        await using var client = await TestMcpServer.ConnectAsync(new Uri(gateway.BaseUri, "/mcp"), headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + token });
        var result = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["message"] = "from CI" }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("from CI", Assert.IsType<TextContentBlock>(result.Content[0]).Text);
    }

    [Fact]
    public async Task RevokeThenList_AsProcess_RevokedInTheTable()
    {
        await using var storage = await CreateStorageAsync();
        var config = await WriteConfigAsync(storage.DataDirectory, storage.Yaml);
        var created = await CliTests.RunAsync("service-account", "create", "--config", config, "--user", "ci@example.com", "--description", "nightly");
        Assert.True(created.ExitCode == 0, created.Stderr);
        var id = ServiceAccountTests.IdOf(created.Stdout);

        var revoked = await CliTests.RunAsync("service-account", "revoke", "--config", config, id);
        var list = await CliTests.RunAsync("service-account", "list", "--config", config);

        Assert.True(revoked.ExitCode == 0, revoked.Stderr);
        Assert.StartsWith($"Revoked service account {id} (ci@example.com). Running gateways refuse its token within seconds", revoked.Stdout, StringComparison.Ordinal);
        Assert.True(list.ExitCode == 0, list.Stderr);
        Assert.Matches($@"(?m)^{id}\s+ci@example\.com\s+-\s+all MCP routes\s+\S+\s+\S+\s+revoked\s+nightly$", list.Stdout);
    }

    /// <summary>A configuration with one protected MCP server route `a` and one public web route `web`.</summary>
    internal static async Task<string> WriteConfigAsync(string directory, string storageYaml)
    {
        var path = Path.Combine(directory, "gatehouse.yaml");
        await File.WriteAllTextAsync(path, TestGateway.Compose("""
              - name: a
                from: http://127.0.0.1
                prefix: /a
                to: http://127.0.0.1:9
                mcp:
                  server: {}
              - name: web
                from: http://127.0.0.1
                prefix: /web
                to: http://127.0.0.1:9
                allow_public_unauthenticated_access: true
            """, storageYaml), TestContext.Current.CancellationToken);
        return path;
    }

    [GeneratedRegex(@"\Agatehouse_sa_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\n\z")]
    private static partial Regex OnlyAToken();
}

public sealed class SqliteServiceAccountCommandTests : ServiceAccountCommandTests
{
    private protected override Task<TestStorage> CreateStorageAsync() => Task.FromResult<TestStorage>(new SqliteTestStorage());
}

public sealed class PostgresServiceAccountCommandTests : ServiceAccountCommandTests
{
    private protected override async Task<TestStorage> CreateStorageAsync() => await PostgresTestStorage.CreateAsync();
}

/// <summary>
/// Mistakes an operator can make with `gatehouse service-account`: each is one clear line on standard error, exit code 1,
/// nothing on standard output (a script's <c>$(...)</c> captures nothing), and no storage is opened.
/// </summary>
public sealed class ServiceAccountCommandErrorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gatehouse-sa-cli-").FullName;

    private string DataDirectory => Path.Combine(_directory, "data");

    [Theory]
    [InlineData(new[] { "--user", "not-an-email" }, "--user: `not-an-email` is not an email address; write one such as alice@example.com.")]
    [InlineData(new[] { "--user", "ci@example.com", "--route", "nope" }, "--route: gatehouse.yaml has no MCP server route named `nope`; its MCP server routes are a.")]
    [InlineData(new[] { "--user", "ci@example.com", "--route", "web" }, "--route: `web` is a route of gatehouse.yaml but not an MCP server route")]
    [InlineData(new[] { "--user", "ci@example.com", "--expires", "3d" }, "--expires: `3d` is not a duration; write one such as 24h, 90m or 720h (30 days).")]
    [InlineData(new[] { "--user", "ci@example.com", "--expires", "0" }, "--expires: `0` is no time at all")]
    [InlineData(new[] { "--user", "ci@example.com", "--expires", "8761h" }, "--expires: `8761h` is longer than the maximum of 8760h (365 days)")]
    [InlineData(new string[0], "Option '--user' is required.")]
    public async Task Create_BadArgument_OneLineOnStderrExitOneAndNoStorage(string[] args, string message)
    {
        var config = await ServiceAccountCommandTests.WriteConfigAsync(_directory, $"data_dir: '{DataDirectory}'");

        var result = await CliTests.RunAsync(["service-account", "create", "--config", config, .. args]);

        AssertMistake(result, message);
        Assert.False(Directory.Exists(DataDirectory), "no storage is opened for a command that cannot run");
    }

    [Fact]
    public async Task Create_InvalidConfig_PrintsTheConfigErrors()
    {
        var config = Path.Combine(_directory, "gatehouse.yaml");
        await File.WriteAllTextAsync(config, "routes:\n  - from: http://127.0.0.1\n    to: http://127.0.0.1:9\n    mcp: {server: {max_request_bytes: lots}}\n", TestContext.Current.CancellationToken);

        var result = await CliTests.RunAsync("service-account", "create", "--config", config, "--user", "ci@example.com");

        AssertMistake(result, "gatehouse.yaml has 1 error(s):");
        Assert.Contains("routes[0].mcp.server.max_request_bytes", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_StorageUnreachable_SaysSoWithoutTheConnectionString()
    {
        var config = await ServiceAccountCommandTests.WriteConfigAsync(_directory, $"""
            data_dir: '{DataDirectory}'
            databroker_storage_type: postgres
            databroker_storage_connection_string: 'Host=127.0.0.1;Port=1;Username=gatehouse;Password=hunter2-secret;Timeout=5'
            """);

        var result = await CliTests.RunAsync("service-account", "create", "--config", config, "--user", "ci@example.com");

        AssertMistake(result, "Cannot open the storage (PostgreSQL): Failed to connect to 127.0.0.1:1");
        Assert.DoesNotContain("hunter2-secret", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("xyz", "`xyz` is not a service-account id: ids are 16 hex digits")]
    [InlineData("gatehouse_sa_0123456789abcdef_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "That is a token: pass the account's id instead")]
    public async Task Revoke_NotAnId_ExitsOneWithMessage(string id, string message)
    {
        var config = await ServiceAccountCommandTests.WriteConfigAsync(_directory, $"data_dir: '{DataDirectory}'");

        var result = await CliTests.RunAsync("service-account", "revoke", "--config", config, id);

        AssertMistake(result, message);
    }

    /// <summary>Exit code 1, the message on standard error, and nothing a script's <c>$(...)</c> would capture.</summary>
    private static void AssertMistake((int ExitCode, string Stdout, string Stderr) result, string message)
    {
        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Stdout);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
