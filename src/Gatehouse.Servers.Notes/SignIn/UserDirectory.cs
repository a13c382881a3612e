using System.Collections.Frozen;
using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.Servers.Notes.SignIn;

/// <summary>A user as the server knows one: the subject of tokens is the email in lower case.</summary>
internal sealed record NotesAccount(string Subject, string Email, string Name);

/// <summary>The users of <see cref="NotesServerOptions.Users"/>, looked up by email, and their password check.</summary>
internal sealed class UserDirectory
{
    private readonly FrozenDictionary<string, (NotesAccount Account, byte[]? PasswordHash)> _users;

    /// <summary>Compared against when the email is unknown, so that a wrong email costs what a wrong password does.</summary>
    private static readonly byte[] s_unknownUserHash = SHA256.HashData("no such user"u8);

    public UserDirectory(NotesServerOptions options)
    {
        _users = options.Users.ToFrozenDictionary(
            u => u.Email,
            u => (new NotesAccount(u.Email.ToLowerInvariant(), u.Email, u.Name ?? u.Email), u.Password is null ? null : Hash(u.Password)),
            StringComparer.OrdinalIgnoreCase);
        AutoApprove = options.AutoApproveUser is { } email ? Find(email) : null;
    }

    public IEnumerable<NotesAccount> All => _users.Values.Select(u => u.Account);

    /// <summary>The user <c>/authorize</c> grants as without asking, when <see cref="NotesServerOptions.AutoApproveUser"/> is set.</summary>
    public NotesAccount? AutoApprove { get; }

    public NotesAccount? Find(string? emailOrSubject) =>
        emailOrSubject is not null && _users.TryGetValue(emailOrSubject, out var user) ? user.Account : null;

    /// <summary>The user, when the password is theirs. Passwords are compared as SHA-256 digests, in constant time.</summary>
    public NotesAccount? Verify(string email, string password)
    {
        var given = Hash(password);
        if (_users.TryGetValue(email, out var user) && user.PasswordHash is { } expected)
        {
            return CryptographicOperations.FixedTimeEquals(given, expected) ? user.Account : null;
        }

        CryptographicOperations.FixedTimeEquals(given, s_unknownUserHash);
        return null;
    }

    private static byte[] Hash(string password) => SHA256.HashData(Encoding.UTF8.GetBytes(password));
}
