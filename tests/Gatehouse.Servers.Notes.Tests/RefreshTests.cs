using System.Net;
using Gatehouse.Servers.Notes.Tests.Infrastructure;

namespace Gatehouse.Servers.Notes.Tests;

/// <summary>
/// Refresh tokens: rotated at every use, and a replayed one revokes the grant (OAuth 2.1 §4.3.1, "refresh token
/// rotation"). Access tokens live two seconds here, so expiry is real rather than simulated.
/// </summary>
public sealed class RefreshTests : IAsyncLifetime
{
    private static readonly TimeSpan s_lifetime = TimeSpan.FromSeconds(2);
    private const string Ping = """{"jsonrpc":"2.0","id":1,"method":"ping"}""";

    private NotesTestServer _server = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() =>
        _server = await NotesTestServer.StartAsync(o => o with { AccessTokenLifetime = s_lifetime });

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Refresh_AccessTokenExpired_NewPairThatWorksAndARotatedRefreshToken()
    {
        var (client, first) = await TokensAsync();
        await WaitForExpiryAsync(first);
        using (var expired = await _server.PostMcpAsync(Ping, first.AccessToken))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
            Assert.Contains("expired", expired.Headers.GetValues("WWW-Authenticate").Single(), StringComparison.Ordinal);
        }

        var second = await client.RefreshAsync(first.RefreshToken!);

        Assert.Equal(HttpStatusCode.OK, second.Status);
        Assert.NotEqual(first.RefreshToken, second.RefreshToken);
        Assert.NotEqual(first.AccessToken, second.AccessToken);
        Assert.Equal([_server.McpUrl], second.Jwt.Audiences);
        Assert.Equal("alice@example.com", second.Jwt.Subject);
        using var served = await _server.PostMcpAsync(Ping, second.AccessToken);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
    }

    [Fact]
    public async Task Refresh_SpentRefreshTokenReplayed_InvalidGrantAndTheWholeGrantRevoked()
    {
        var (client, first) = await TokensAsync();
        var second = await client.RefreshAsync(first.RefreshToken!);
        Assert.Equal(HttpStatusCode.OK, second.Status);

        // A stolen, already used refresh token: the server cannot tell thief from client, so it ends the grant.
        var replay = await client.RefreshAsync(first.RefreshToken!);

        Assert.Equal("invalid_grant", replay.Error);
        Assert.Equal("invalid_grant", (await client.RefreshAsync(second.RefreshToken!)).Error);
        using var after = await _server.PostMcpAsync(Ping, second.AccessToken);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
    }

    [Fact]
    public async Task Refresh_NarrowerScope_TokenWithOnlyThatScope()
    {
        var (client, first) = await TokensAsync();

        // RFC 6749 §6: a refresh may ask for less than the grant, never for more.
        var narrowed = await client.TokenRequestAsync(
            [new("grant_type", "refresh_token"), new("refresh_token", first.RefreshToken!), new("scope", "notes:read")]);

        Assert.Equal(HttpStatusCode.OK, narrowed.Status);
        Assert.Equal("notes:read", narrowed.Jwt.GetClaim("scope").Value);
    }

    [Fact]
    public async Task Refresh_TokenOfAnotherClient_InvalidGrant()
    {
        var (_, first) = await TokensAsync();
        var other = await OAuthClient.RegisterAsync(_server);

        var stolen = await other.RefreshAsync(first.RefreshToken!);

        Assert.Equal("invalid_grant", stolen.Error);
    }

    private async Task<(OAuthClient Client, TokenResponse Tokens)> TokensAsync()
    {
        var (client, tokens) = await _server.AuthorizeNewClientAsync("alice@example.com");
        Assert.NotNull(tokens.RefreshToken);
        return (client, tokens);
    }

    private static async Task WaitForExpiryAsync(TokenResponse tokens)
    {
        // The token's lifetime is the configured one; on a slow machine it may already have run out by now.
        Assert.InRange(tokens.Jwt.ValidTo - tokens.Jwt.IssuedAt, TimeSpan.Zero, s_lifetime + TimeSpan.FromSeconds(1));
        var wait = tokens.Jwt.ValidTo - DateTime.UtcNow + TimeSpan.FromMilliseconds(500);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, Ct);
        }
    }
}
