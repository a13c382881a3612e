using System.Net;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Upstream;

/// <summary>
/// Two gateway replicas on one database: an expiring upstream token is refreshed once, not once per replica (the
/// refresh lease in the vault row), and a connection made through one replica is used by the other.
/// </summary>
public abstract class UpstreamReplicaTests
{
    private protected abstract Task<TestStorage> CreateStorageAsync();

    [Fact]
    public async Task Refresh_ConcurrentCallsOnTwoReplicas_OneRefresh()
    {
        await using var storage = await CreateStorageAsync();
        await using var fixture = await UpstreamGatewayFixture.StartAsync($"""
                    upstream_oauth2:
                      client_id: {UpstreamOAuthServer.ClientId}
                      client_secret: {UpstreamOAuthServer.ClientSecret}
            """, extraTopLevel: storage.Yaml);
        fixture.Upstream.FirstLifetimeSeconds = 30; // inside the 60 s skew: due at once
        var replica = await fixture.StartReplicaAsync();
        var (browserA, teA) = await fixture.SignInAsync();
        var (browserB, teB) = await fixture.SignInAsync(replica);
        using var a = browserA;
        using var b = browserB;
        await fixture.ConnectAsync(browserA);

        var calls = Enumerable.Range(0, 40).Select(i => i % 2 == 0 ? fixture.InitializeAsync(teA) : fixture.InitializeAsync(teB, replica));
        var responses = await Task.WhenAll(calls);
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        foreach (var response in responses)
        {
            response.Dispose();
        }

        Assert.Equal(1, fixture.Upstream.Refreshes);
        Assert.Single(fixture.Upstream.AuthorizationHeadersSeen.Where(h => h.Length > 0).Distinct());
    }
}

public sealed class SqliteUpstreamReplicaTests : UpstreamReplicaTests
{
    private protected override async Task<TestStorage> CreateStorageAsync() => await Task.FromResult<TestStorage>(new SqliteTestStorage());
}

public sealed class PostgresUpstreamReplicaTests : UpstreamReplicaTests
{
    private protected override async Task<TestStorage> CreateStorageAsync() => await PostgresTestStorage.CreateAsync();
}
