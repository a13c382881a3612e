using Gatehouse.Cli;
using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

public sealed class IdpConfigTests
{
    private const string Routes = """
        routes:
          - from: https://mcp.example.com
            to: http://127.0.0.1:5081
            allow_public_unauthenticated_access: true
        """;

    // One real hash, made once: hashing is deliberately slow.
    private static readonly string s_hash = UsersCommand.HashPassword("correct horse battery staple");

    private static GatewayConfig Loads(string topLevel, string? baseDirectory = null) =>
        new YamlConfigReader(_ => null, baseDirectory).Read(topLevel + "\n" + Routes, "test.yaml");

    private static ConfigError FailsOnce(string topLevel, string? baseDirectory = null) =>
        Assert.Single(Assert.Throws<ConfigException>(() => Loads(topLevel, baseDirectory)).Errors);

    private static string User(string email, string? hash = null) => $"""
            - email: {email}
              name: Someone
              groups: [sales]
              password_hash: {hash ?? s_hash}
        """;

    [Fact]
    public void Read_NoIdp_NoSignIn()
    {
        Assert.Null(Loads("").Idp);
    }

    [Fact]
    public void Read_BuiltinWithInlineUsers_UsersAndDefaults()
    {
        var config = Loads($"""
            idp:
              provider: builtin
              users:
            {User("alice@example.com")}
            """);

        var idp = Assert.IsType<IdpConfig>(config.Idp);
        var alice = Assert.Single(idp.Users);
        Assert.Equal("alice@example.com", alice.Email);
        Assert.Equal(["sales"], alice.Groups);
        Assert.Equal(TimeSpan.FromHours(8), idp.SessionLifetime);
        Assert.Equal(5, idp.Lockout.MaxFailedAttempts);
        Assert.Equal(50, idp.Lockout.MaxFailedAttemptsPerAddress);
        Assert.Equal(TimeSpan.FromMinutes(15), idp.Lockout.LockoutDuration);
        Assert.Same(alice, idp.FindUser("ALICE@example.com"));
        Assert.DoesNotContain(s_hash, alice.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Read_SessionLifetimeAndLockout_Applied()
    {
        var config = Loads($"""
            idp:
              provider: builtin
              session_lifetime: 1h30m
              lockout: {"{"}max_failed_attempts: 3, max_failed_attempts_per_address: 20, lockout_duration: 2s{"}"}
              users:
            {User("alice@example.com")}
            """);

        Assert.Equal(TimeSpan.FromMinutes(90), config.Idp!.SessionLifetime);
        Assert.Equal(3, config.Idp.Lockout.MaxFailedAttempts);
        Assert.Equal(20, config.Idp.Lockout.MaxFailedAttemptsPerAddress);
        Assert.Equal(TimeSpan.FromSeconds(2), config.Idp.Lockout.LockoutDuration);
    }

    [Fact]
    public void Read_UsersFile_ReadRelativeToConfigFile()
    {
        var directory = Directory.CreateTempSubdirectory("gatehouse-idp-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "users.yaml"), "users:\n" + User("bob@example.com").Replace("    - ", "  - ", StringComparison.Ordinal).Replace("      ", "    ", StringComparison.Ordinal));
            var config = Loads($"""
                idp:
                  provider: builtin
                  users_file: users.yaml
                  users:
                {User("alice@example.com")}
                """, directory);

            Assert.Equal(["alice@example.com", "bob@example.com"], config.Idp!.Users.Select(u => u.Email));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Read_UsersFileWithBadEmail_ErrorNamesTheFileLineAndColumn()
    {
        var directory = Directory.CreateTempSubdirectory("gatehouse-idp-").FullName;
        try
        {
            var usersFile = Path.Combine(directory, "users.yaml");
            File.WriteAllText(usersFile, $"- email: not-an-email\n  password_hash: {s_hash}\n");
            var error = FailsOnce("idp:\n  provider: builtin\n  users_file: users.yaml", directory);

            Assert.Equal($"idp.users_file {usersFile}:1:10: users[0].email", error.Key);
            Assert.Contains("not an email address", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Read_MissingUsersFile_ErrorNamesKey()
    {
        var error = FailsOnce("idp:\n  provider: builtin\n  users_file: /nonexistent/users.yaml");

        Assert.Equal("idp.users_file", error.Key);
        Assert.Equal(3, error.Line);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_OidcProviderWithoutUrl_ErrorNamesProviderUrl()
    {
        var error = FailsOnce("idp:\n  provider: oidc\n  client_id: gatehouse");

        Assert.Equal("idp", error.Key);
        Assert.Contains("missing `provider_url:`", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_OidcProviderOverPlainHttpElsewhere_RefusedAsInsecure()
    {
        var error = FailsOnce("idp:\n  provider: oidc\n  provider_url: http://idp.example.com\n  client_id: gatehouse");

        Assert.Equal("idp.provider_url", error.Key);
        Assert.Contains("https", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_OidcProviderWithBuiltinUsers_ErrorSaysUsersBelongToBuiltin()
    {
        var error = FailsOnce($"idp:\n  provider: oidc\n  provider_url: https://idp.example.com\n  client_id: gatehouse\n  users:\n{User("alice@example.com")}");

        Assert.Equal("idp.users", error.Key);
        Assert.Contains("belongs to `provider: builtin`", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_UnknownProvider_ErrorListsBuiltinAndOidc()
    {
        var error = FailsOnce("idp:\n  provider: ldap");

        Assert.Equal("idp.provider", error.Key);
        Assert.Equal((2, 13), (error.Line, error.Column));
        Assert.Contains("`ldap` is not a provider; use `builtin`", error.Message, StringComparison.Ordinal);
        Assert.Contains("`oidc`", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_NoProvider_ErrorSaysWriteBuiltin()
    {
        var error = FailsOnce($"idp:\n  users:\n{User("alice@example.com")}");

        Assert.Equal("idp", error.Key);
        Assert.Contains("provider: builtin", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_BuiltinWithoutUsers_ErrorSaysAddUsers()
    {
        var error = FailsOnce("idp:\n  provider: builtin");

        Assert.Equal("idp", error.Key);
        Assert.Contains("users_file", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("alice")]
    [InlineData("alice@")]
    [InlineData("@example.com")]
    [InlineData("alice@@example.com")]
    [InlineData("alice smith@example.com")]
    [InlineData("alice@localhost")]
    public void Read_InvalidEmail_ErrorNamesUserKey(string email)
    {
        var error = FailsOnce($"idp:\n  provider: builtin\n  users:\n    - email: '{email}'\n      password_hash: {s_hash}");

        Assert.Equal("idp.users[0].email", error.Key);
        Assert.Equal((4, 14), (error.Line, error.Column));
        Assert.Contains("is not an email address", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_DuplicateEmailDifferentCase_Error()
    {
        var error = FailsOnce($"idp:\n  provider: builtin\n  users:\n{User("alice@example.com")}\n{User("Alice@Example.com")}");

        Assert.Equal("idp.users[1].email", error.Key);
        Assert.Contains("listed twice", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("hunter2")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("$2b$12$abcdefghijklmnopqrstuu5C3nJ6vQ3C8eWm1gS7j2W7G1Y0J9Lq")]
    public void Read_PasswordHashNotIdentityV3_ErrorSaysRunHashPassword(string hash)
    {
        var error = FailsOnce($"idp:\n  provider: builtin\n  users:\n    - email: alice@example.com\n      password_hash: '{hash}'");

        Assert.Equal("idp.users[0].password_hash", error.Key);
        Assert.Contains("gatehouse users hash-password", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(hash, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_MissingPasswordHash_ErrorSaysRunHashPassword()
    {
        var error = FailsOnce("idp:\n  provider: builtin\n  users:\n    - email: alice@example.com");

        Assert.Equal("idp.users[0].password_hash", error.Key);
        Assert.Contains("gatehouse users hash-password", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_UnknownUserKey_ErrorListsAllowedKeys()
    {
        var error = FailsOnce($"idp:\n  provider: builtin\n  users:\n    - email: alice@example.com\n      password: hunter2\n      password_hash: {s_hash}");

        Assert.Equal("idp.users[0].password", error.Key);
        Assert.Contains("password_hash", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("five")]
    public void Read_BadMaxFailedAttempts_Error(string value)
    {
        var error = FailsOnce($"idp:\n  provider: builtin\n  lockout:\n    max_failed_attempts: {value}\n  users:\n{User("alice@example.com")}");

        Assert.Equal("idp.lockout.max_failed_attempts", error.Key);
        Assert.Contains("whole number from 1 to 1000", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("100001")]
    [InlineData("many")]
    public void Read_BadMaxFailedAttemptsPerAddress_Error(string value)
    {
        var error = FailsOnce($"idp:\n  provider: builtin\n  lockout:\n    max_failed_attempts_per_address: {value}\n  users:\n{User("alice@example.com")}");

        Assert.Equal("idp.lockout.max_failed_attempts_per_address", error.Key);
        Assert.Contains("whole number from 0 to 100000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_BadLockoutDuration_Error()
    {
        var error = FailsOnce($"idp:\n  provider: builtin\n  lockout:\n    lockout_duration: soon\n  users:\n{User("alice@example.com")}");

        Assert.Equal("idp.lockout.lockout_duration", error.Key);
        Assert.Contains("duration", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_BadSessionLifetime_Error()
    {
        var error = FailsOnce($"idp:\n  provider: builtin\n  session_lifetime: forever\n  users:\n{User("alice@example.com")}");

        Assert.Equal("idp.session_lifetime", error.Key);
        Assert.Equal(3, error.Line);
    }

    [Fact]
    public void Read_UnknownIdpKey_Suggestion()
    {
        var error = FailsOnce($"idp:\n  provider: builtin\n  session_lifetme: 1h\n  users:\n{User("alice@example.com")}");

        Assert.Equal("idp.session_lifetme", error.Key);
        Assert.Contains("did you mean `session_lifetime`?", error.Message, StringComparison.Ordinal);
    }
}
