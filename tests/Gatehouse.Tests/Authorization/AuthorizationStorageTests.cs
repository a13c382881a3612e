using System.Net;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Authorization;

/// <summary>
/// What the authorization server keeps, run once per provider (<see cref="SqliteAuthorizationStorageTests"/>,
/// <see cref="PostgresAuthorizationStorageTests"/>): a restart loses nothing, and replicas on one database share
/// grants and learn each other's revocations within seconds.
/// </summary>
public abstract class AuthorizationStorageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private protected abstract Task<TestStorage> CreateStorageAsync();

    [Fact]
    public async Task Restart_SameStorageAndAddress_SessionsClientsConsentsGrantsAndKeysSurvive()
    {
        await using var storage = await CreateStorageAsync();
        var port = FreePort();
        var topLevel = $"address: 127.0.0.1:{port}";
        TokenResponse tokens;
        string clientId;
        var flow = new OAuthFlow(new Uri($"http://127.0.0.1:{port}/"));
        await using (var first = await AuthorizationServerHost.StartAsync("dynamic_client_registration: {enabled: true}", topLevel, storage.Yaml))
        {
            using var registration = await first.Gateway.Client.PostAsync("/.gatehouse/oauth/register",
                new StringContent("""{"client_name":"Survivor","redirect_uris":["http://127.0.0.1/cb"],"token_endpoint_auth_method":"none"}""", System.Text.Encoding.UTF8, "application/json"), Ct);
            clientId = System.Text.Json.JsonDocument.Parse(await registration.Content.ReadAsStringAsync(Ct)).RootElement.GetProperty("client_id").GetString()!;
            tokens = await flow.GetTokensAsync(clientId, "http://127.0.0.1/cb", first.SalesResource, "alice@example.com", AuthorizationServerHost.Password);
        }

        await using var second = await AuthorizationServerHost.StartAsync("dynamic_client_registration: {enabled: true}", topLevel, storage.Yaml);

        // Signing keys: the access token issued before the restart still passes.
        using (var call = await second.PostInitializeAsync("/sales", tokens.AccessToken))
        {
            Assert.True(call.StatusCode == HttpStatusCode.OK, $"{call.StatusCode} {call.Headers.WwwAuthenticate}");
        }

        // Encryption key and token entries: the refresh token still redeems.
        var refreshed = await flow.RefreshAsync(tokens.RefreshToken!, clientId);
        Assert.Equal(HttpStatusCode.OK, refreshed.Status);

        // Session, registered client and consent: authorizing again needs neither sign-in nor consent.
        using var again = await flow.GetAsync(OAuthFlow.AuthorizeQuery(clientId, "http://127.0.0.1/cb", Pkce.Create(), second.SalesResource));
        Assert.NotNull(OAuthFlow.Redirect(again).Code);
        flow.Dispose();
    }

    [Fact]
    public async Task Replicas_SignOutOnOne_OtherRefusesTheTokensWithinSeconds()
    {
        await using var storage = await CreateStorageAsync();
        await using var first = await AuthorizationServerHost.StartAsync(storageYaml: storage.Yaml);
        await using var second = await AuthorizationServerHost.StartAsync(storageYaml: storage.Yaml);
        using var flow = first.NewFlow();
        var tokens = await flow.GetTokensAsync(AuthorizationServerHost.PublicClient, AuthorizationServerHost.PublicRedirect, first.SalesResource, "alice@example.com", AuthorizationServerHost.Password);

        // Behind one load balancer replicas share a public host: the second is reached with the first's Host.
        async Task<HttpStatusCode> CallSecondAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(second.Gateway.BaseUri, "/sales"))
            {
                Content = new StringContent("""{"jsonrpc":"2.0","id":1,"method":"ping"}""", System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Host = first.Gateway.BaseUri.Authority;
            request.Headers.Accept.ParseAdd("application/json, text/event-stream");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", tokens.AccessToken);
            using var response = await second.Gateway.Client.SendAsync(request, Ct);
            return response.StatusCode;
        }

        Assert.NotEqual(HttpStatusCode.Unauthorized, await CallSecondAsync());

        using var page = await flow.GetAsync("/.gatehouse/sign_out");
        using var signOut = await flow.PostFormAsync("/.gatehouse/sign_out", [new("csrf_token", OAuthFlow.CsrfToken(await page.Content.ReadAsStringAsync(Ct)))]);

        await AuthorizationServerHost.EventuallyAsync(async () => await CallSecondAsync() == HttpStatusCode.Unauthorized, "the second replica refuses the token");
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

public sealed class SqliteAuthorizationStorageTests : AuthorizationStorageTests
{
    private protected override Task<TestStorage> CreateStorageAsync() => Task.FromResult<TestStorage>(new SqliteTestStorage());
}

public sealed class PostgresAuthorizationStorageTests : AuthorizationStorageTests
{
    private protected override async Task<TestStorage> CreateStorageAsync() => await PostgresTestStorage.CreateAsync();
}
