using System.Security.Claims;
using System.Text.Json;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.SignIn.Oidc;

/// <summary>
/// Who the provider says the user is, read from OpenIddict's merged principal (the ID token's claims and, when the
/// provider has a userinfo endpoint, userinfo's). OpenID Connect Core §5.1 standard claims.
/// </summary>
internal sealed record OidcIdentity(string? Subject, string? Email, bool EmailUnverified, string? Name, IReadOnlyList<string>? Groups)
{
    /// <summary>Reads the claims; <see cref="Groups"/> is null when the principal does not carry <paramref name="groupsClaim"/>.</summary>
    public static OidcIdentity From(ClaimsPrincipal principal, string groupsClaim)
    {
        var emailVerified = principal.FindFirst(Claims.EmailVerified)?.Value;
        return new OidcIdentity(
            NonEmpty(principal.FindFirst(Claims.Subject)?.Value),
            NonEmpty(principal.FindFirst(Claims.Email)?.Value?.Trim()),
            // Only an explicit false refuses: many providers (Entra ID among them) never send email_verified.
            string.Equals(emailVerified, "false", StringComparison.OrdinalIgnoreCase),
            NonEmpty(principal.FindFirst(Claims.Name)?.Value?.Trim()),
            ReadGroups(principal, groupsClaim));
    }

    /// <summary>
    /// The groups claim may be a JSON array or a single string (providers differ, and so do ID token and userinfo);
    /// OpenIddict keeps an array either as one claim per element or as one JSON_ARRAY claim.
    /// </summary>
    internal static IReadOnlyList<string>? ReadGroups(ClaimsPrincipal principal, string groupsClaim)
    {
        var claims = principal.FindAll(groupsClaim).ToList();
        if (claims.Count == 0)
        {
            return null;
        }

        var groups = new List<string>();
        foreach (var claim in claims)
        {
            if (claim.ValueType == "JSON_ARRAY" || claim.Value.StartsWith('['))
            {
                try
                {
                    using var document = JsonDocument.Parse(claim.Value);
                    if (document.RootElement.ValueKind == JsonValueKind.Array)
                    {
                        groups.AddRange(document.RootElement.EnumerateArray()
                            .Where(e => e.ValueKind == JsonValueKind.String)
                            .Select(e => e.GetString()!));
                        continue;
                    }
                }
                catch (JsonException)
                {
                    // Not JSON after all: a group whose name starts with '['.
                }
            }

            groups.Add(claim.Value);
        }

        return [.. groups.Where(g => g.Length > 0).Distinct(StringComparer.Ordinal)];
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
