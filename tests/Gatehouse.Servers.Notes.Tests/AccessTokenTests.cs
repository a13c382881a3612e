using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Gatehouse.Servers.Notes.Tests.Infrastructure;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Servers.Notes.Tests;

/// <summary>
/// The MCP endpoint as a resource server: the 401 that starts discovery, and the access tokens it refuses, each
/// differing from a good one in one respect.
/// </summary>
public sealed class AccessTokenTests : IAsyncLifetime
{
    private const string Ping = """{"jsonrpc":"2.0","id":1,"method":"ping"}""";

    private NotesTestServer _server = null!;
    private string _token = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _server = await NotesTestServer.StartAsync();
        _token = (await _server.TokensForAsync("alice@example.com")).AccessToken!;
    }

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Mcp_NoToken_401PointingToTheResourceMetadata()
    {
        using var response = await _server.PostMcpAsync(Ping, accessToken: null);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(
            $"Bearer resource_metadata=\"{_server.Origin}/.well-known/oauth-protected-resource/mcp\", scope=\"notes:read notes:write\"",
            Assert.Single(response.Headers.GetValues("WWW-Authenticate")));
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task Mcp_ValidToken_Served()
    {
        using var response = await _server.PostMcpAsync(Ping, _token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    public static TheoryData<string, string> Forgeries => new()
    {
        { "another audience", "another resource" },
        { "another issuer", "another authorization server" },
        { "expired", "expired" },
        { "another key", "signature" },
        { "alg none", "" },
        { "typ JWT", "not an access token" },
        { "garbage", "malformed" },
    };

    [Theory]
    [MemberData(nameof(Forgeries))]
    public async Task Mcp_ForgedToken_401InvalidToken(string forgery, string reason)
    {
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var token = forgery switch
        {
            "another audience" => ForgedTokens.Resign(_token, _server.Keys.SigningKey, p => p["aud"] = _server.Origin + "/other"),
            "another issuer" => ForgedTokens.Resign(_token, _server.Keys.SigningKey, p => p["iss"] = "http://127.0.0.1:1/"),
            "expired" => ForgedTokens.Resign(_token, _server.Keys.SigningKey, p =>
            {
                p["iat"] = ForgedTokens.UnixTime(DateTimeOffset.UtcNow.AddHours(-3));
                p["nbf"] = ForgedTokens.UnixTime(DateTimeOffset.UtcNow.AddHours(-3));
                p["exp"] = ForgedTokens.UnixTime(DateTimeOffset.UtcNow.AddHours(-2));
            }),
            "another key" => ForgedTokens.Resign(_token, new ECDsaSecurityKey(otherKey) { KeyId = _server.Keys.SigningKey.KeyId }, _ => { }),
            "alg none" => ForgedTokens.Unsigned(_token),
            "typ JWT" => ForgedTokens.Resign(_token, _server.Keys.SigningKey, _ => { }, type: "JWT"),
            _ => "not.a.token",
        };

        using var response = await _server.PostMcpAsync(Ping, token);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Assert.Single(response.Headers.GetValues("WWW-Authenticate"));
        Assert.Contains("error=\"invalid_token\"", challenge, StringComparison.Ordinal);
        Assert.Contains(reason, challenge, StringComparison.Ordinal);
        Assert.Contains("resource_metadata=", challenge, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mcp_ResignedWithTheServerKeyUnchanged_Accepted()
    {
        // The control for the forgeries above: re-signing alone changes nothing the server checks.
        var token = ForgedTokens.Resign(_token, _server.Keys.SigningKey, _ => { });

        using var response = await _server.PostMcpAsync(Ping, token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Mcp_TokenOfAnotherNotesServer_Refused()
    {
        await using var other = await NotesTestServer.StartAsync();
        var foreign = (await other.TokensForAsync("alice@example.com")).AccessToken;

        using var response = await _server.PostMcpAsync(Ping, foreign);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Mcp_ServerRestartedOnTheSameData_TokenStillAccepted()
    {
        // The signing key is kept in notes.db, not ephemeral. A fixed public URL keeps issuer and audience the same
        // although port 0 gives each start another port.
        using var data = new TempDirectory();
        static NotesServerOptions Fixed(NotesServerOptions o) => o with { PublicUrl = new Uri("http://localhost:5999") };
        string token;
        await using (var first = await NotesTestServer.StartAsync(Fixed, data.Path))
        {
            token = (await first.TokensForAsync("alice@example.com")).AccessToken!;
        }

        await using var second = await NotesTestServer.StartAsync(Fixed, data.Path);
        using var response = await second.PostMcpAsync(Ping, token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Mcp_TokenRevoked_RefusedAtOnce()
    {
        var tokens = await _server.TokensForAsync("bob@example.com");
        var clientId = tokens.Jwt.GetClaim("client_id").Value;

        using var revoke = await _server.Http.PostAsync("/revoke", new FormUrlEncodedContent(
            [new("token", tokens.AccessToken!), new("token_type_hint", "access_token"), new("client_id", clientId)]), Ct);
        using var response = await _server.PostMcpAsync(Ping, tokens.AccessToken);

        Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("revoked", response.Headers.GetValues("WWW-Authenticate").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mcp_SessionCookieWithoutToken_401()
    {
        // A browser session is no credential for the MCP endpoint: no web page can drive a user's notes with it.
        using var browser = _server.NewBrowser();
        await browser.SignInAsync("alice@example.com", NotesTestServer.AlicePassword);

        using var response = await browser.PostMcpAsync(Ping);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
