using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Gatehouse.Chat.Identity;

/// <summary>The signed-in user as the gateway asserted them, with the TE the app acts with on their behalf.</summary>
public sealed record ChatUser(string Subject, string Email, string Name, IReadOnlyList<string> Groups, string Te, DateTimeOffset TeExpiresAt)
{
    /// <summary>Null for a principal that did not come through <see cref="GatewayIdentity"/>.</summary>
    public static ChatUser? From(ClaimsPrincipal principal)
    {
        if (principal.FindFirst(GatewayIdentity.TeClaim)?.Value is not { } te || principal.FindFirst("email")?.Value is not { } email)
        {
            return null;
        }

        // The TE is the gateway's token, not the app's: the app reads its expiry only to tell the user when to
        // reload; the gateway checks it on every call.
        DateTimeOffset expires;
        try
        {
            expires = new DateTimeOffset(DateTime.SpecifyKind(new JsonWebToken(te).ValidTo, DateTimeKind.Utc));
        }
        catch (ArgumentException)
        {
            expires = DateTimeOffset.MinValue;
        }

        return new ChatUser(principal.FindFirst("sub")?.Value ?? email, email, principal.FindFirst("name")?.Value ?? email,
            [.. principal.FindAll("groups").Select(c => c.Value)], te, expires);
    }

    public bool TeExpired(TimeProvider time) => time.GetUtcNow() >= TeExpiresAt;
}
