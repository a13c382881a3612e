using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Configuration;
using Gatehouse.Demo;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Identity;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// `gatehouse demo` as a newcomer runs it, reached by a real third-party MCP client (the MCP Inspector CLI).
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed partial class DemoTests
{
    private const string SalesByYear =
        "SELECT strftime('%Y', o.order_date) AS year, ROUND(SUM(d.unit_price * d.quantity * (1 - d.discount)), 2) AS sales " +
        "FROM orders o JOIN order_details d ON d.order_id = o.order_id GROUP BY year ORDER BY year";

    [Fact]
    public async Task Demo_InspectorCliAsksSalesByYear_OneRowPerYearThroughGateway()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Directory.CreateTempSubdirectory("gatehouse-demo-").FullName;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "exec", Path.Combine(AppContext.BaseDirectory, "gatehouse.dll"), "demo", "--port", "0", "--data-dir", dataDir })
        {
            start.ArgumentList.Add(arg);
        }

        using var demo = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        try
        {
            var baseUrl = await ReadUntilReadyAsync(demo, output, ct);
            var configPath = Path.Combine(dataDir, "gatehouse.yaml");
            Assert.StartsWith("http://127.0.0.1:", baseUrl, StringComparison.Ordinal);
            Assert.True(File.Exists(configPath));
            Assert.Contains($"data_dir: '{dataDir}'", await File.ReadAllTextAsync(configPath, ct), StringComparison.Ordinal);
            Assert.True(File.Exists(Path.Combine(dataDir, "gatehouse.db")), "the demo's storage belongs in its --data-dir");
            AssertDemoUsersCanSignIn(dataDir);

            // Northwind is protected: the demo says how to get a token without a browser, and how to send it.
            var createToken = $"service-account create --config {DemoRunner.ShellQuote(configPath)} --user alice@example.com --groups sales";
            Assert.Contains($"TOKEN=$(gatehouse {createToken})", output.ToString(), StringComparison.Ordinal);
            Assert.Contains($"TOKEN=$(dotnet run --project src/Gatehouse -- {createToken})", output.ToString(), StringComparison.Ordinal);
            Assert.Contains($"--cli {baseUrl}/northwind --transport http --header \"Authorization: Bearer $TOKEN\" --method tools/list", output.ToString(), StringComparison.Ordinal);

            var anonymous = await NodeTools.RunInspectorCliAsync([$"{baseUrl}/northwind", "--transport", "http", "--method", "tools/list"], ct);
            Assert.NotEqual(0, anonymous.ExitCode);
            Assert.Contains("auth_required", anonymous.Stdout + anonymous.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("list_tables", anonymous.Stdout, StringComparison.Ordinal);

            // The command the demo prints, run as the built binary (as CliTests run it), with the configuration the demo wrote.
            var created = await CliTests.RunAsync("service-account", "create", "--config", configPath, "--user", "alice@example.com", "--groups", "sales");
            Assert.True(created.ExitCode == 0, created.Stderr);
            string[] bearer = ["--header", "Authorization: Bearer " + created.Stdout.TrimEnd('\n')];

            var tools = await NodeTools.RunInspectorCliAsync([$"{baseUrl}/northwind", "--transport", "http", .. bearer, "--method", "tools/list"], ct);
            Assert.True(tools.ExitCode == 0, tools.Stderr);
            using (var list = JsonDocument.Parse(tools.Stdout))
            {
                var names = list.RootElement.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
                Assert.Contains("query", names);
                Assert.Contains("list_tables", names);
                Assert.Contains("describe_table", names);
            }

            var call = await NodeTools.RunInspectorCliAsync(
                [$"{baseUrl}/northwind", "--transport", "http", .. bearer, "--method", "tools/call", "--tool-name", "query", "--tool-arg", "sql=" + SalesByYear], ct);
            Assert.True(call.ExitCode == 0, call.Stderr);
            using var result = JsonDocument.Parse(call.Stdout);
            var text = result.RootElement.GetProperty("content")[0].GetProperty("text").GetString()!;
            using var table = JsonDocument.Parse(text);
            var rows = table.RootElement.GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal(["2022", "2023", "2024", "2025"], rows.Select(r => r[0].GetString()));
            Assert.All(rows, r => Assert.True(r[1].GetDouble() > 0));

            // Notes has OAuth of its own, found by discovery: alice has not connected it, so even her valid token gets a
            // 401 that sends her client back through authorization (which chains Notes' consent).
            using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri(baseUrl) };
            Assert.Contains($"Notes MCP server:      {baseUrl}/notes", output.ToString(), StringComparison.Ordinal);
            using var notes = await http.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/notes")
            {
                Headers = { { "Authorization", "Bearer " + created.Stdout.TrimEnd('\n') }, { "Accept", "application/json, text/event-stream" } },
                Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}""",
                    System.Text.Encoding.UTF8, "application/json"),
            }, ct);
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, notes.StatusCode);
            Assert.Contains($"resource_metadata=\"{baseUrl}/.well-known/oauth-protected-resource/notes\"", notes.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);

            // The chat is a client route: a browser without a session is sent to sign in first.
            Assert.Contains($"Gatehouse Chat:        {baseUrl}/chat/", output.ToString(), StringComparison.Ordinal);
            using var chat = await http.GetAsync("/chat/", ct);
            Assert.Equal(System.Net.HttpStatusCode.Redirect, chat.StatusCode);
            Assert.Contains("/.gatehouse/sign_in", chat.Headers.Location!.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            demo.Kill(entireProcessTree: true);
            await demo.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task EnsureDemoUsers_SecondRun_KeepsUsersAndPrintsNoPasswords()
    {
        var ct = TestContext.Current.CancellationToken;
        var dataDir = Directory.CreateTempSubdirectory("gatehouse-demo-users-").FullName;
        try
        {
            var first = await DemoRunner.EnsureDemoUsersAsync(dataDir, ct);
            var users = await File.ReadAllTextAsync(Path.Combine(dataDir, DemoRunner.UsersFileName), ct);
            var second = await DemoRunner.EnsureDemoUsersAsync(dataDir, ct);

            Assert.NotNull(first);
            Assert.All(first, p => Assert.Equal(20, p.Length));
            Assert.NotEqual(first[0], first[1]);
            Assert.Null(second);
            Assert.Equal(users, await File.ReadAllTextAsync(Path.Combine(dataDir, DemoRunner.UsersFileName), ct));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(dataDir, DemoRunner.PasswordsFileName)));
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Theory]
    [InlineData("/home/alice/.local/share/gatehouse/demo/gatehouse.yaml")]
    [InlineData("/tmp/my demo/it's $HOME `here`/gatehouse.yaml")]
    public async Task ShellQuote_AnyPath_BashReadsItBackAsOneWord(string path)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("printf '%s|' " + DemoRunner.ShellQuote(path));

        var result = await ChildProcess.RunAsync(start, TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Equal(path + "|", result.Stdout);
    }

    /// <summary>The passwords saved for alice and bob (0600) match the hashes the demo's configuration loads.</summary>
    private static void AssertDemoUsersCanSignIn(string dataDir)
    {
        var passwordsFile = Path.Combine(dataDir, DemoRunner.PasswordsFileName);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(passwordsFile));
        var passwords = File.ReadAllLines(passwordsFile).Where(l => !l.StartsWith('#')).Select(l => l.Split(' ')).ToDictionary(p => p[0], p => p[1]);
        var idp = YamlConfigReader.Load(Path.Combine(dataDir, "gatehouse.yaml")).Idp!;
        var hasher = new PasswordHasher<BuiltinUser>();
        foreach (var (email, group) in new[] { ("alice@example.com", "sales"), ("bob@example.com", "engineering") })
        {
            var user = idp.FindUser(email)!;
            Assert.Equal([group], user.Groups);
            Assert.Equal(PasswordVerificationResult.Success, hasher.VerifyHashedPassword(user, user.PasswordHash, passwords[email]));
        }
    }

    /// <summary>Reads the demo's output up to its last start-up line and returns the URL it is ready at.</summary>
    private static async Task<string> ReadUntilReadyAsync(Process demo, System.Text.StringBuilder output, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        string? baseUrl = null;
        while (await demo.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
        {
            output.AppendLine(line);
            if (ReadyLine().Match(line) is { Success: true } match)
            {
                baseUrl = match.Groups[1].Value;
            }

            if (baseUrl is not null && line == "Press Ctrl+C to stop.")
            {
                // Keep draining so the demo never blocks on a full pipe.
                _ = demo.StandardOutput.BaseStream.CopyToAsync(Stream.Null, CancellationToken.None);
                _ = demo.StandardError.BaseStream.CopyToAsync(Stream.Null, CancellationToken.None);
                return baseUrl;
            }
        }

        Assert.Fail("The demo exited before it was ready:\n" + output + await demo.StandardError.ReadToEndAsync(cancellationToken));
        return "";
    }

    [GeneratedRegex(@"^Gatehouse is ready at (http://\S+)$")]
    private static partial Regex ReadyLine();
}
