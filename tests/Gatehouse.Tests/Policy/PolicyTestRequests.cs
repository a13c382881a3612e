using Gatehouse.Policy;
using Gatehouse.ResourceServer;

namespace Gatehouse.Tests.Policy;

/// <summary>Requests for policy tests that are not in the case table.</summary>
internal static class PolicyTestRequests
{
    public static GatewayUser User(string email = "alice@example.com", string[]? groups = null, IReadOnlyDictionary<string, IReadOnlyList<string>>? claims = null) => new()
    {
        Kind = CredentialKind.AccessToken,
        Subject = email,
        Email = email,
        Name = email,
        Groups = groups ?? [],
        ClientId = "my-ide",
        CredentialId = "test",
        ExpiresAt = DateTimeOffset.MaxValue,
        Claims = claims ?? new Dictionary<string, IReadOnlyList<string>>(),
    };

    public static PolicyRequest Message(GatewayUser user, string method, string? tool = null, string? prompt = null, string? resource = null) =>
        new(user, "POST", "/sales", method, tool, prompt, resource);

    public static PolicyRequest Call(string tool, string[]? groups = null) => Message(User(groups: groups), "tools/call", tool);
}
