namespace Gatehouse.Configuration;

/// <summary>The downstream identity provider that signs users in (<c>idp:</c>). Only <c>builtin</c> exists so far.</summary>
internal sealed record IdpConfig
{
    public static readonly TimeSpan DefaultSessionLifetime = TimeSpan.FromHours(8);

    public IReadOnlyList<BuiltinUser> Users { get; init; } = [];

    /// <summary>How long a session lasts after sign-in (<c>session_lifetime</c>, default 8 h).</summary>
    public TimeSpan SessionLifetime { get; init; } = DefaultSessionLifetime;

    public LockoutConfig Lockout { get; init; } = new();

    /// <summary>The user with this email (compared case-insensitively), or null.</summary>
    public BuiltinUser? FindUser(string email) =>
        Users.FirstOrDefault(u => string.Equals(u.Email, email, StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// A user of the built-in provider. The password hash is an ASP.NET Core Identity v3 hash; it is a secret of sorts
/// (an offline guessing target), so it is left out of <see cref="ToString"/>.
/// </summary>
internal sealed record BuiltinUser(string Email, string Name, IReadOnlyList<string> Groups, string PasswordHash)
{
    public override string ToString() => $"BuiltinUser {{ Email = {Email}, Name = {Name}, Groups = [{string.Join(", ", Groups)}] }}";
}

/// <summary>Lock an account after <see cref="MaxFailedAttempts"/> wrong passwords in a row, for <see cref="LockoutDuration"/>.</summary>
internal sealed record LockoutConfig
{
    public int MaxFailedAttempts { get; init; } = 5;

    public TimeSpan LockoutDuration { get; init; } = TimeSpan.FromMinutes(15);
}
