using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gatehouse.Signing;
using Gatehouse.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Tests.ServiceAccounts;

/// <summary>
/// Service-account tokens made by `gatehouse service-account` (run in-process, against the gateway's database, as an
/// operator's command would be) and used by a real MCP client through the real gateway to a real MCP server, once per
/// storage provider (<see cref="SqliteServiceAccountTests"/>, <see cref="PostgresServiceAccountTests"/>). Two
/// protected MCP server routes, <c>a</c> and <c>b</c>, lead to the same upstream, which records what reached it.
/// </summary>
public abstract class ServiceAccountTests
{
    private const string InitializeRequest =
        """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}""";

    private readonly ConcurrentQueue<(string? Authorization, string? Assertion)> _upstreamSaw = new();

    private protected abstract Task<TestStorage> CreateStorageAsync();

    private async Task<Setup> StartAsync()
    {
        var storage = await CreateStorageAsync();
        TestUpstream? upstream = null;
        try
        {
            upstream = await TestMcpServer.StartAsync(onRequest: request =>
                _upstreamSaw.Enqueue((request.Headers.Authorization.FirstOrDefault(), request.Headers["X-Gatehouse-Jwt-Assertion"].FirstOrDefault())));
            var gateway = await TestGateway.StartAsync($"""
                  - name: a
                    from: http://127.0.0.1
                    prefix: /a
                    prefix_rewrite: /mcp
                    to: {upstream.Origin}
                    mcp:
                      server: {"{}"}
                  - name: b
                    from: http://127.0.0.1
                    prefix: /b
                    prefix_rewrite: /mcp
                    to: {upstream.Origin}
                    mcp:
                      server: {"{}"}
                """, storage.Yaml);
            return new Setup(storage, upstream, gateway);
        }
        catch
        {
            if (upstream is not null)
            {
                await upstream.DisposeAsync();
            }

            await storage.DisposeAsync();
            throw;
        }
    }

    /// <summary>The storage, the recording MCP server and the gateway in front of it, stopped in reverse order.</summary>
    private sealed record Setup(TestStorage Storage, TestUpstream Upstream, TestGateway Gateway) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Gateway.DisposeAsync();
            await Upstream.DisposeAsync();
            await Storage.DisposeAsync();
        }
    }

    [Fact]
    public async Task Token_McpClientCallsTool_UpstreamGetsSignedAssertionInsteadOfToken()
    {
        await using var setup = await StartAsync();
        var gateway = setup.Gateway;
        var token = await InProcessCli.CreateTokenAsync(gateway.ConfigPath, "--user", "Alice@Example.com", "--groups", "sales, admins", "--description", "nightly report");

        await using (var client = await ConnectAsync(gateway, "/a", token))
        {
            var result = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["message"] = "hello" }, cancellationToken: TestContext.Current.CancellationToken);
            Assert.Equal("hello", Assert.IsType<TextContentBlock>(result.Content[0]).Text);
        }

        Assert.NotEmpty(_upstreamSaw);
        Assert.All(_upstreamSaw, seen => Assert.Null(seen.Authorization));
        var jwks = new Microsoft.IdentityModel.Tokens.JsonWebKeySet(await gateway.Client.GetStringAsync(JwksEndpoints.Path, TestContext.Current.CancellationToken));
        foreach (var assertion in _upstreamSaw.Select(s => s.Assertion).Distinct())
        {
            Assert.NotNull(assertion);
            var validated = await new JsonWebTokenHandler().ValidateTokenAsync(assertion, new TokenValidationParameters
            {
                IssuerSigningKeys = jwks.GetSigningKeys(),
                ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
                ValidIssuer = "127.0.0.1",
                ValidAudience = new Uri(gateway.BaseUri, "/a").ToString(),
            });
            Assert.True(validated.IsValid, validated.Exception?.Message);
            var jwt = (JsonWebToken)validated.SecurityToken;
            Assert.Equal("ES256", jwt.Alg);
            Assert.Equal("alice@example.com", jwt.GetClaim("email").Value);
            Assert.Equal("alice@example.com", jwt.Subject);
            Assert.Equal(["sales", "admins"], jwt.Claims.Where(c => c.Type == "groups").Select(c => c.Value));
        }

        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Message.Contains(token, StringComparison.Ordinal) || e.Message.Contains(token[^43..], StringComparison.Ordinal));
        Assert.Empty(gateway.Logs.UnexpectedErrors);
    }

    [Fact]
    public async Task Token_LimitedToRouteA_AcceptedOnAAndRefusedOnB()
    {
        await using var setup = await StartAsync();
        var gateway = setup.Gateway;
        var limited = await InProcessCli.CreateTokenAsync(gateway.ConfigPath, "--user", "ci@example.com", "--route", "a");
        var everywhere = await InProcessCli.CreateTokenAsync(gateway.ConfigPath, "--user", "ci@example.com");

        using (var onA = await PostInitializeAsync(gateway, "/a", limited))
        {
            Assert.Equal(HttpStatusCode.OK, onA.StatusCode);
        }

        using (var onB = await PostInitializeAsync(gateway, "/b", everywhere))
        {
            Assert.Equal(HttpStatusCode.OK, onB.StatusCode);
        }

        using var refused = await PostInitializeAsync(gateway, "/b", limited);
        await AssertRefusedAsync(refused, "not valid for this MCP server");
    }

    [Fact]
    public async Task Token_WrongSecretOrUnknownId_Refused()
    {
        await using var setup = await StartAsync();
        var gateway = setup.Gateway;
        var token = await InProcessCli.CreateTokenAsync(gateway.ConfigPath, "--user", "ci@example.com");
        var wrongSecret = token[..^1] + (token[^1] == 'A' ? 'B' : 'A');
        var unknownId = "gatehouse_sa_0000000000000000_" + token[^43..];

        foreach (var forged in new[] { wrongSecret, unknownId })
        {
            using var response = await PostInitializeAsync(gateway, "/a", forged);
            await AssertRefusedAsync(response, "The service-account token is not valid.");
        }

        using var truncated = await PostInitializeAsync(gateway, "/a", token[..^1]);
        await AssertRefusedAsync(truncated, "malformed");
        using var accepted = await PostInitializeAsync(gateway, "/a", token);
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
    }

    [Fact]
    public async Task Token_PastItsExpiry_Refused()
    {
        await using var setup = await StartAsync();
        var gateway = setup.Gateway;
        var token = await InProcessCli.CreateTokenAsync(gateway.ConfigPath, "--user", "ci@example.com", "--expires", "1s");
        var expires = Assert.Single(await ListAsync(gateway)).GetProperty("expires").GetDateTimeOffset();

        await WaitUntilPastAsync(expires);
        using var response = await PostInitializeAsync(gateway, "/a", token);

        await AssertRefusedAsync(response, "has expired");
    }

    [Fact]
    public async Task Token_AcceptedThenPastItsExpiry_Refused()
    {
        await using var setup = await StartAsync();
        var gateway = setup.Gateway;
        var token = await InProcessCli.CreateTokenAsync(gateway.ConfigPath, "--user", "ci@example.com", "--expires", "5s");
        var expires = Assert.Single(await ListAsync(gateway)).GetProperty("expires").GetDateTimeOffset();
        using (var accepted = await PostInitializeAsync(gateway, "/a", token))
        {
            Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        }

        // The gateway now knows the token (it is not hashed again per request): expiry is still checked every time.
        await WaitUntilPastAsync(expires);
        using var response = await PostInitializeAsync(gateway, "/a", token);

        await AssertRefusedAsync(response, "has expired");
    }

    [Fact]
    public async Task Revoke_TokenThatWorked_RefusedWithinBoundedWait()
    {
        await using var setup = await StartAsync();
        var gateway = setup.Gateway;
        var token = await InProcessCli.CreateTokenAsync(gateway.ConfigPath, "--user", "ci@example.com");
        await using var client = await ConnectAsync(gateway, "/a", token);
        await client.CallToolAsync("echo", new Dictionary<string, object?> { ["message"] = "before" }, cancellationToken: TestContext.Current.CancellationToken);

        // Revoked by another process's service provider, as an operator's command does: the gateway learns it from
        // its revocation-list poll, although it holds the account in its cache.
        var revoke = await InProcessCli.ServiceAccountAsync("revoke", "--config", gateway.ConfigPath, token["gatehouse_sa_".Length..][..16]);
        Assert.True(revoke.ExitCode == 0, revoke.Stderr);
        Assert.Contains("Revoked service account", revoke.Stdout, StringComparison.Ordinal);

        for (var attempt = 0; ; attempt++)
        {
            using var response = await PostInitializeAsync(gateway, "/a", token);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                await AssertRefusedAsync(response, "has been revoked");
                break;
            }

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.True(attempt < 100, "The gateway still accepted the revoked token after 10 s of polling.");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        // The session the client opened before is refused too: every request carries the token.
        var refused = await Assert.ThrowsAnyAsync<Exception>(() =>
            client.CallToolAsync("echo", new Dictionary<string, object?> { ["message"] = "after" }, cancellationToken: TestContext.Current.CancellationToken).AsTask());
        Assert.Equal(HttpStatusCode.Unauthorized, Assert.IsType<HttpRequestException>(refused).StatusCode);
    }

    [Fact]
    public async Task List_ActiveExpiredAndRevokedAccounts_StatusesAndNoSecrets()
    {
        await using var setup = await StartAsync();
        var gateway = setup.Gateway;
        var active = await InProcessCli.CreateTokenAsync(gateway.ConfigPath, "--user", "active@example.com", "--groups", "sales", "--route", "a", "--route", "b", "--description", "the active one");
        var expired = await InProcessCli.CreateTokenAsync(gateway.ConfigPath, "--user", "expired@example.com", "--expires", "1s");
        var revoked = await InProcessCli.CreateTokenAsync(gateway.ConfigPath, "--user", "revoked@example.com");
        Assert.Equal(0, (await InProcessCli.ServiceAccountAsync("revoke", "--config", gateway.ConfigPath, IdOf(revoked))).ExitCode);
        var expiredAt = (await ListAsync(gateway)).Single(a => a.GetProperty("user").GetString() == "expired@example.com").GetProperty("expires").GetDateTimeOffset();
        await WaitUntilPastAsync(expiredAt);

        var json = await InProcessCli.ServiceAccountAsync("list", "--config", gateway.ConfigPath, "--json");
        var table = await InProcessCli.ServiceAccountAsync("list", "--config", gateway.ConfigPath);

        Assert.Equal(0, json.ExitCode);
        var listed = JsonDocument.Parse(json.Stdout).RootElement.EnumerateArray().ToDictionary(a => a.GetProperty("user").GetString()!);
        Assert.Equal(["active@example.com", "expired@example.com", "revoked@example.com"], listed.Keys.Order());
        Assert.Equal("active", listed["active@example.com"].GetProperty("status").GetString());
        Assert.Equal("expired", listed["expired@example.com"].GetProperty("status").GetString());
        Assert.Equal("revoked", listed["revoked@example.com"].GetProperty("status").GetString());
        Assert.Equal(IdOf(active), listed["active@example.com"].GetProperty("id").GetString());
        Assert.Equal(["sales"], listed["active@example.com"].GetProperty("groups").EnumerateArray().Select(g => g.GetString()));
        Assert.Equal(["a", "b"], listed["active@example.com"].GetProperty("routes").EnumerateArray().Select(g => g.GetString()));
        Assert.False(listed["active@example.com"].GetProperty("all_mcp_routes").GetBoolean());
        Assert.True(listed["expired@example.com"].GetProperty("all_mcp_routes").GetBoolean());
        Assert.Equal("the active one", listed["active@example.com"].GetProperty("description").GetString());
        Assert.Equal(JsonValueKind.String, listed["revoked@example.com"].GetProperty("revoked").ValueKind);

        Assert.Equal(0, table.ExitCode);
        var lines = table.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["ID", "USER", "GROUPS", "ROUTES", "CREATED", "EXPIRES", "STATUS", "DESCRIPTION"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Matches(@"^[0-9a-f]{16}\s+active@example\.com\s+sales\s+a,b\s+\S+\s+\S+\s+active\s+the active one$", lines.Single(l => l.Contains("active@", StringComparison.Ordinal)));
        Assert.Matches(@"\s+-\s+all MCP routes\s+\S+\s+\S+\s+expired$", lines.Single(l => l.Contains("expired@", StringComparison.Ordinal)));
        Assert.Matches(@"\s+revoked$", lines.Single(l => l.Contains("revoked@", StringComparison.Ordinal)));

        foreach (var token in new[] { active, expired, revoked })
        {
            Assert.DoesNotContain(token[^43..], json.Stdout + table.Stdout, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("hash", json.Stdout, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Revoke_UnknownOrAlreadyRevokedId_ExitsOneNamingWhy()
    {
        await using var setup = await StartAsync();
        var gateway = setup.Gateway;
        var id = IdOf(await InProcessCli.CreateTokenAsync(gateway.ConfigPath, "--user", "ci@example.com"));
        Assert.Equal(0, (await InProcessCli.ServiceAccountAsync("revoke", "--config", gateway.ConfigPath, id)).ExitCode);

        var again = await InProcessCli.ServiceAccountAsync("revoke", "--config", gateway.ConfigPath, id);
        var unknown = await InProcessCli.ServiceAccountAsync("revoke", "--config", gateway.ConfigPath, "0123456789abcdef");

        Assert.Equal(1, again.ExitCode);
        Assert.Equal("", again.Stdout);
        Assert.Contains($"Service account {id} is not active: it was already revoked at ", again.Stderr, StringComparison.Ordinal);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Equal("", unknown.Stdout);
        Assert.Contains("No service account has the id 0123456789abcdef", unknown.Stderr, StringComparison.Ordinal);
    }

    internal static string IdOf(string token) => token["gatehouse_sa_".Length..][..16];

    private static Task<ModelContextProtocol.Client.McpClient> ConnectAsync(TestGateway gateway, string path, string token) =>
        TestMcpServer.ConnectAsync(new Uri(gateway.BaseUri, path), headers: new Dictionary<string, string> { ["Authorization"] = "Bearer " + token });

    private static async Task<HttpResponseMessage> PostInitializeAsync(TestGateway gateway, string path, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(InitializeRequest, Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json");
        request.Headers.Accept.ParseAdd("text/event-stream");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await gateway.Client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    /// <summary>RFC 6750 §3.1: 401 with <c>error="invalid_token"</c> and the reason in <c>error_description</c>.</summary>
    private static async Task AssertRefusedAsync(HttpResponseMessage response, string reason)
    {
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate).ToString();
        Assert.StartsWith("Bearer resource_metadata=", challenge, StringComparison.Ordinal);
        Assert.Contains("error=\"invalid_token\"", challenge, StringComparison.Ordinal);
        Assert.Contains(reason, challenge, StringComparison.Ordinal);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    private static async Task<List<JsonElement>> ListAsync(TestGateway gateway)
    {
        var list = await InProcessCli.ServiceAccountAsync("list", "--config", gateway.ConfigPath, "--json");
        Assert.True(list.ExitCode == 0, list.Stderr);
        return [.. JsonDocument.Parse(list.Stdout).RootElement.EnumerateArray()];
    }

    /// <summary>Waits for a known instant to pass (at most the second a short-lived test token lives), not for a poll.</summary>
    private static async Task WaitUntilPastAsync(DateTimeOffset instant)
    {
        var wait = instant - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(50);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, TestContext.Current.CancellationToken);
        }
    }
}

public sealed class SqliteServiceAccountTests : ServiceAccountTests
{
    private protected override Task<TestStorage> CreateStorageAsync() => Task.FromResult<TestStorage>(new SqliteTestStorage());
}

public sealed class PostgresServiceAccountTests : ServiceAccountTests
{
    private protected override async Task<TestStorage> CreateStorageAsync() => await PostgresTestStorage.CreateAsync();
}
