using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Servers.Notes.Tests.Infrastructure;

/// <summary>
/// Access tokens that differ from a real one in one respect: the claims of a token the server issued, changed and
/// signed again (with the server's own key, to isolate the check under test, or with another).
/// </summary>
internal static class ForgedTokens
{
    public static string Resign(string accessToken, SecurityKey key, Action<JsonObject> change, string type = "at+jwt")
    {
        var payload = Payload(accessToken);
        change(payload);
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(payload.ToJsonString(), new SigningCredentials(key, SecurityAlgorithms.EcdsaSha256),
            new Dictionary<string, object> { ["typ"] = type });
    }

    /// <summary>The same claims with <c>alg: none</c> and no signature.</summary>
    public static string Unsigned(string accessToken) =>
        Base64UrlEncoder.Encode("""{"alg":"none","typ":"at+jwt"}""") + "." + Base64UrlEncoder.Encode(Payload(accessToken).ToJsonString()) + ".";

    private static JsonObject Payload(string accessToken) =>
        JsonNode.Parse(Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(new JsonWebToken(accessToken).EncodedPayload)))!.AsObject();

    public static long UnixTime(DateTimeOffset time) => time.ToUnixTimeSeconds();
}
