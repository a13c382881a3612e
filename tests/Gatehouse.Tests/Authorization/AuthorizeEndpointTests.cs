using Gatehouse.Authorization;
using Gatehouse.ResourceServer;
using Gatehouse.SignIn;

namespace Gatehouse.Tests.Authorization;

public sealed class AuthorizeEndpointTests
{
    [Theory]
    [InlineData("")]
    [InlineData("sales")]
    [InlineData("sales engineering")]
    public void CreatePrincipal_UserGroups_OneGroupsClaimPerGroup(string groupList)
    {
        var groups = groupList.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var user = new SessionUser("session", "alice@example.com", "Alice", groups, DateTimeOffset.UnixEpoch);

        var principal = AuthorizeEndpoint.CreatePrincipal(user, ["openid"], ["http://127.0.0.1/northwind"]);

        Assert.Equal(groups, principal.FindAll(GatehouseClaims.Groups).Select(c => c.Value));
    }

    [Theory]
    [InlineData("/", "'self'")]
    [InlineData("/app?redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb", "'self'")]
    [InlineData("/.gatehouse/oauth/authorize?client_id=a&redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcb&state=x", "'self' http://127.0.0.1:5000")]
    [InlineData("/.gatehouse/oauth/authorize?redirect_uri=https%3A%2F%2Fapp.example%2Fcb", "'self' https://app.example")]
    [InlineData("/.gatehouse/oauth/authorize?redirect_uri=cursor%3A%2F%2Fanysphere.cursor-mcp%2Foauth%2Fcallback", "'self' cursor:")]
    [InlineData("/.gatehouse/oauth/authorize?redirect_uri=javascript%3Aalert(1)", "'self'")]
    [InlineData("/.gatehouse/oauth/authorize?redirect_uri=http%3A%2F%2Fevil.example%2Fcb", "'self'")]
    [InlineData("/.gatehouse/oauth/authorize?redirect_uri=http%3A%2F%2F127.0.0.1%2Fa&redirect_uri=https%3A%2F%2Fb.example%2F", "'self'")]
    [InlineData("/.gatehouse/oauth/authorizeX?redirect_uri=https%3A%2F%2Fapp.example%2Fcb", "'self'")]
    public void FormActionAfterSignIn_ReturnUrl_AllowsOnlyAValidClientRedirectOfTheAuthorizationEndpoint(string returnUrl, string expected) =>
        Assert.Equal(expected, AuthorizeEndpoint.FormActionAfterSignIn(returnUrl));
}
