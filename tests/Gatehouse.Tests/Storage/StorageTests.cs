using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Signing;
using Gatehouse.Storage;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenIddict.EntityFrameworkCore.Models;

namespace Gatehouse.Tests.Storage;

/// <summary>
/// The storage contract, run once per provider (<see cref="SqliteStorageTests"/>, <see cref="PostgresStorageTests"/>)
/// over a real database that each test creates empty. Several gateways on one database stand in for replicas.
/// </summary>
public abstract class StorageTests
{
    private const string Routes = """
          - name: app
            from: http://127.0.0.1
            to: http://127.0.0.1:9
            allow_public_unauthenticated_access: true
        """;

    private protected abstract Task<TestStorage> CreateStorageAsync();

    private protected static Task<TestGateway> StartGatewayAsync(TestStorage storage) => StartGatewayAsync(storage.Yaml);

    private protected static Task<TestGateway> StartGatewayAsync(string storageYaml) => TestGateway.StartAsync(Routes, storageYaml);

    [Fact]
    public async Task Start_EmptyDatabase_MigrationsCreateTheWholeSchema()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await StartGatewayAsync(storage);

        await using var scope = gateway.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var ct = TestContext.Current.CancellationToken;
        Assert.Empty(await db.Database.GetPendingMigrationsAsync(ct));
        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync(ct));
        Assert.Equal(0, await db.Set<OpenIddictEntityFrameworkCoreApplication>().CountAsync(ct));
        Assert.Equal(0, await db.Set<OpenIddictEntityFrameworkCoreAuthorization>().CountAsync(ct));
        Assert.Equal(0, await db.Set<OpenIddictEntityFrameworkCoreScope>().CountAsync(ct));
        Assert.Equal(0, await db.Set<OpenIddictEntityFrameworkCoreToken>().CountAsync(ct));
        Assert.NotEqual(0, await db.DataProtectionKeys.CountAsync(ct));
        Assert.Equal(1, await db.SigningKeys.CountAsync(ct));
        Assert.Empty(gateway.Logs.UnexpectedErrors);
    }

    [Fact]
    public async Task DataProtection_PayloadFromOneInstance_UnprotectedBySecond()
    {
        await using var storage = await CreateStorageAsync();
        await using var first = await StartGatewayAsync(storage);
        var payload = first.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Protect("a refresh token from the IdP");

        await using var second = await StartGatewayAsync(storage);
        var unprotected = second.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("test").Unprotect(payload);

        Assert.Equal("a refresh token from the IdP", unprotected);
    }

    [Fact]
    public async Task Start_TwoInstancesConcurrently_OneSigningKeyAndSameJwks()
    {
        await using var storage = await CreateStorageAsync();
        var starting = new[] { StartGatewayAsync(storage), StartGatewayAsync(storage) };
        await Task.WhenAll(starting.Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        await using var first = await starting[0];
        await using var second = await starting[1];

        await using (var scope = first.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
            Assert.Equal(1, await db.SigningKeys.CountAsync(TestContext.Current.CancellationToken));
        }

        var firstJwks = await GetJwksAsync(first, JwksEndpoints.Path);
        var secondJwks = await GetJwksAsync(second, JwksEndpoints.Path);
        Assert.Equal(firstJwks, secondJwks);

        // What one replica signs, the JWKS the other publishes verifies.
        var key = Assert.Single(JsonDocument.Parse(secondJwks).RootElement.GetProperty("keys").EnumerateArray());
        var signer = first.Services.GetRequiredService<SigningKeyStore>().Current;
        Assert.Equal(signer.KeyId, key.GetProperty("kid").GetString());
        var data = Encoding.UTF8.GetBytes("header.payload");
        var signature = signer.SigningKey.SignData(data, HashAlgorithmName.SHA256);
        using var verifier = ECDsa.Create(new ECParameters
        {
            Curve = ECCurve.NamedCurves.nistP256,
            Q = new ECPoint { X = WebEncoders.Base64UrlDecode(key.GetProperty("x").GetString()!), Y = WebEncoders.Base64UrlDecode(key.GetProperty("y").GetString()!) },
        });
        Assert.True(verifier.VerifyData(data, signature, HashAlgorithmName.SHA256));
        Assert.Empty(first.Logs.UnexpectedErrors);
        Assert.Empty(second.Logs.UnexpectedErrors);
    }

    [Fact]
    public async Task Restart_SameDatabase_KeepsSigningKey()
    {
        await using var storage = await CreateStorageAsync();
        string before;
        await using (var gateway = await StartGatewayAsync(storage))
        {
            before = await GetJwksAsync(gateway, JwksEndpoints.Path);
        }

        await using var restarted = await StartGatewayAsync(storage);
        Assert.Equal(before, await GetJwksAsync(restarted, JwksEndpoints.Path));
    }

    [Fact]
    public async Task Jwks_BothPaths_Es256PublicKeyWithShortCache()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await StartGatewayAsync(storage);

        foreach (var path in new[] { JwksEndpoints.Path, JwksEndpoints.PomeriumPath })
        {
            using var response = await gateway.Client.GetAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            Assert.True(response.Headers.CacheControl is { Public: true, MaxAge.TotalSeconds: > 0 and <= 600 }, $"Cache-Control: {response.Headers.CacheControl}");
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
            var key = Assert.Single(json.RootElement.GetProperty("keys").EnumerateArray());
            Assert.Equal(("EC", "P-256", "ES256", "sig"),
                (key.GetProperty("kty").GetString(), key.GetProperty("crv").GetString(), key.GetProperty("alg").GetString(), key.GetProperty("use").GetString()));
            Assert.False(key.TryGetProperty("d", out _), "the private key must never be published");
        }
    }

    [Fact]
    public async Task Readyz_StorageReachable_Returns200()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await StartGatewayAsync(storage);

        using var response = await gateway.Client.GetAsync(new Uri("/readyz", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Equal("ready", json.RootElement.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Rotation_NearRetirement_SuccessorPublishedBeforeUseAndOldKeyKeptUntilItsTokensExpire()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var storage = await CreateStorageAsync();
        var clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var config = YamlConfigReader.Parse(TestGateway.Compose(Routes, storage.Yaml));
        await using var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton<TimeProvider>(clock)
            .AddGatehouseStorage(config)
            .BuildServiceProvider();
        await services.GetServices<IHostedService>().OfType<StorageInitializer>().Single().StartAsync(ct);
        var store = services.GetRequiredService<SigningKeyStore>();
        var first = store.Current.KeyId;

        // A week before the first key retires, a successor appears in the JWKS but does not sign yet.
        clock.Advance(SigningKeyStore.SigningLifetime - SigningKeyStore.RotateBefore + TimeSpan.FromMinutes(1));
        await store.RefreshAsync(ct);
        Assert.Equal(first, store.Current.KeyId);
        Assert.Equal(2, store.Current.PublishedKeyIds.Count);
        var second = store.Current.PublishedKeyIds[0];
        Assert.NotEqual(first, second);

        // Once published long enough, the successor signs; the old key stays published for the tokens it signed.
        clock.Advance(SigningKeyStore.PublishBeforeUse + TimeSpan.FromMinutes(1));
        await store.RefreshAsync(ct);
        Assert.Equal(second, store.Current.KeyId);
        Assert.Contains(first, store.Current.PublishedKeyIds);

        // After its retirement plus the longest token lifetime, the old key is gone from the JWKS.
        clock.Advance(SigningKeyStore.RotateBefore + SigningKeyStore.PublishAfterRetirement);
        await store.RefreshAsync(ct);
        Assert.Equal([second], store.Current.PublishedKeyIds);
        Assert.Equal(second, store.Current.KeyId);
    }

    /// <summary>
    /// Leaves out the errors EF Core logs for commands it expects to fail while migrating: reading the history table
    /// of an empty PostgreSQL database, and the losing replica's CREATE TABLE IF NOT EXISTS of that table. Migrate
    /// handles both and succeeds (https://github.com/npgsql/efcore.pg/issues/3407, https://github.com/dotnet/efcore/issues/37328).
    /// </summary>
    private protected static async Task<string> GetJwksAsync(TestGateway gateway, string path) =>
        await gateway.Client.GetStringAsync(new Uri(path, UriKind.Relative), TestContext.Current.CancellationToken);
}

internal sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

public sealed class SqliteStorageTests : StorageTests
{
    private protected override Task<TestStorage> CreateStorageAsync() => Task.FromResult<TestStorage>(new SqliteTestStorage());

    [Fact]
    public async Task Start_Sqlite_DatabaseFileInDataDirInWalMode()
    {
        await using var storage = new SqliteTestStorage();
        await using var gateway = await StartGatewayAsync(storage);

        Assert.True(File.Exists(Path.Combine(storage.DataDirectory, StorageExtensions.SqliteFileName)));
        await using var scope = gateway.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var mode = await db.Database.SqlQueryRaw<string>("SELECT journal_mode AS Value FROM pragma_journal_mode").SingleAsync(TestContext.Current.CancellationToken);
        Assert.Equal("wal", mode);
    }
}

public sealed class PostgresStorageTests : StorageTests
{
    private protected override async Task<TestStorage> CreateStorageAsync() => await PostgresTestStorage.CreateAsync();

    [Fact]
    public async Task Readyz_PostgresUnreachable_Returns503NamingStorage()
    {
        await using var storage = await PostgresTestStorage.CreateAsync();
        var server = new Npgsql.NpgsqlConnectionStringBuilder(storage.ConnectionString);
        var forwarder = new TcpForwarder(new IPEndPoint(IPAddress.Parse(server.Host!), server.Port));
        var viaForwarder = new Npgsql.NpgsqlConnectionStringBuilder(storage.ConnectionString) { Port = forwarder.Port }.ConnectionString;
        await using var gateway = await StartGatewayAsync(storage.YamlFor(viaForwarder));
        using (var ready = await gateway.Client.GetAsync(new Uri("/readyz", UriKind.Relative), TestContext.Current.CancellationToken))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        // The database goes away: its port is now closed.
        await forwarder.DisposeAsync();
        await Task.Delay(TimeSpan.FromSeconds(1.1), TestContext.Current.CancellationToken);

        using var response = await gateway.Client.GetAsync(new Uri("/readyz", UriKind.Relative), TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        Assert.Contains("PostgreSQL storage is unreachable", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains(gateway.Logs.Entries, e => e.EventId == 3011);
    }

    [Fact]
    public async Task Start_PostgresPortClosed_FailsBeforeListening()
    {
        await using var storage = await PostgresTestStorage.CreateAsync();
        int closedPort;
        using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var unreachable = new Npgsql.NpgsqlConnectionStringBuilder(storage.ConnectionString) { Host = "127.0.0.1", Port = closedPort }.ConnectionString;

        await Assert.ThrowsAnyAsync<Exception>(() => StartGatewayAsync(storage.YamlFor(unreachable)));
    }
}
