using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Chat.Tests.Infrastructure;
using Gatehouse.Tests.Infrastructure;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Chat.Tests;

/// <summary>
/// The chat app trusts only the gateway: a request must carry an identity assertion signed with the gateway's keys
/// (its JWKS), issued for the chat's own route. Reaching the app's port directly, with nothing, a forged assertion or
/// a genuine one made for another route, gets 401 and no page.
/// </summary>
public sealed class ChatIdentityTests : IAsyncLifetime
{
    private ChatStack? _stack;

    private ChatStack Stack => _stack!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _stack = await ChatStack.StartAsync();

    public async ValueTask DisposeAsync() => await ChatStack.StopAndCheckLogsAsync(_stack);

    [Fact]
    public async Task Chat_ThroughGatewaySignedIn_ServesThePage()
    {
        using var flow = new OAuthFlow(Stack.Gateway.BaseUri);
        await flow.SignInAsync(ChatStack.Alice, ChatStack.Password);

        using var response = await flow.GetAsync("/chat/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var html = await response.Content.ReadAsStringAsync(Ct);
        Assert.Contains("<title>Gatehouse Chat</title>", html, StringComparison.Ordinal);
        Assert.Contains("<base href=\"/chat/\" />", html, StringComparison.Ordinal);


        Assert.Contains("script-src 'self';", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.Equal("no-referrer", response.Headers.GetValues("Referrer-Policy").Single());

        // The TE stays on the server: the page the browser gets holds no token.
        Assert.DoesNotMatch(TokenShapes.Jwt(), html);
    }

    [Fact]
    public async Task Chat_DirectRequestWithoutAssertion_Refused401()
    {
        using var http = new HttpClient();
        using var response = await http.GetAsync(Stack.ChatDirectUrl + "/chat/", Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("served through Gatehouse", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_GenuineAssertionForAnotherRoute_Refused401()
    {
        using var flow = new OAuthFlow(Stack.Gateway.BaseUri);
        await flow.SignInAsync(ChatStack.Alice, ChatStack.Password);
        using var echoed = await flow.GetAsync("/echo/");
        var headers = JsonDocument.Parse(await echoed.Content.ReadAsStringAsync(Ct)).RootElement;
        var assertion = headers.GetProperty("x-gatehouse-jwt-assertion").GetString()!;

        using var response = await SendDirectAsync(assertion);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task Chat_AssertionSignedWithAForeignKey_Refused401()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var forged = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "127.0.0.1",
            Audience = Stack.ChatUrl.ToString().TrimEnd('/'),
            Expires = DateTime.UtcNow.AddMinutes(5),
            Claims = new Dictionary<string, object> { ["email"] = ChatStack.Alice, ["sub"] = ChatStack.Alice },
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key) { KeyId = "forged" }, SecurityAlgorithms.EcdsaSha256),
        });

        using var response = await SendDirectAsync(forged);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private async Task<HttpResponseMessage> SendDirectAsync(string assertion)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, Stack.ChatDirectUrl + "/chat/");
        request.Headers.Add("X-Gatehouse-Jwt-Assertion", assertion);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-checked-here");
        return await http.SendAsync(request, Ct);
    }
}
