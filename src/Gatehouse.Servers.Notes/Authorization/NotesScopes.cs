using System.Collections.Immutable;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Servers.Notes.Authorization;

/// <summary>The scopes of the Notes API, and which of the requested ones a grant receives.</summary>
internal static class NotesScopes
{
    public const string Read = "notes:read";
    public const string Write = "notes:write";

    /// <summary>What the MCP resource needs: its protected resource metadata and 401 challenges name these.</summary>
    public static readonly ImmutableArray<string> Resource = [Read, Write];

    /// <summary>What the authorization server grants (RFC 8414 <c>scopes_supported</c>).</summary>
    public static readonly ImmutableArray<string> Supported = [Read, Write, Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.OfflineAccess];

    /// <summary>
    /// The scopes a grant receives: the requested ones this server knows (others are ignored, RFC 6749 §3.3); both
    /// notes scopes when the client named neither, so a client that asks for nothing still gets a useful token; and
    /// always <c>offline_access</c>, because an MCP client must be able to refresh without the user.
    /// </summary>
    public static ImmutableArray<string> Grantable(ImmutableArray<string> requested)
    {
        var granted = Supported.Where(requested.Contains).ToList();
        if (!granted.Contains(Read) && !granted.Contains(Write))
        {
            granted.InsertRange(0, Resource);
        }

        if (!granted.Contains(Scopes.OfflineAccess))
        {
            granted.Add(Scopes.OfflineAccess);
        }

        return [.. granted];
    }

    /// <summary>Words for the consent page.</summary>
    public static string Describe(string scope) => scope switch
    {
        Read => "Search and read your notes",
        Write => "Create notes in your name",
        Scopes.OfflineAccess => "Stay connected when you are not using it (refresh tokens)",
        Scopes.OpenId => "Know who you are",
        Scopes.Profile => "See your name",
        Scopes.Email => "See your email address",
        _ => scope,
    };
}
