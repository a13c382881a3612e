using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using OpenIddict.Server.AspNetCore;

namespace Gatehouse.Authorization;

internal static class OAuthResults
{
    /// <summary>
    /// An OAuth error from a passthrough endpoint: OpenIddict sends it the way the endpoint requires (a redirect to
    /// the client's validated redirect URI at the authorization endpoint, JSON at the token endpoint; RFC 6749 §4.1.2.1, §5.2).
    /// </summary>
    public static ForbidHttpResult Refuse(string error, string description) =>
        TypedResults.Forbid(
            new AuthenticationProperties(new Dictionary<string, string?>
            {
                [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
                [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
            }),
            [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
}
