using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.Cli;
using Gatehouse.SignIn;
using Gatehouse.Storage;
using Gatehouse.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Tests.SignIn;

/// <summary>
/// The built-in provider's sign-in and sign-out over real Kestrel and a real database, run once per provider
/// (<see cref="SqliteSignInTests"/>, <see cref="PostgresSignInTests"/>). Cookies are read from the Set-Cookie
/// header by hand: the session cookie is Secure, which a cookie container would never send over http://127.0.0.1.
/// </summary>
public abstract partial class SignInTests
{
    private const string Password = "correct horse battery staple";
    private const string SignInPath = "/.gatehouse/sign_in";
    private const string SignOutPath = "/.gatehouse/sign_out";

    /// <summary>One public route on 127.0.0.1, so the gateway serves that host; its upstream is never called.</summary>
    internal const string Routes = """
          - name: app
            from: http://127.0.0.1
            to: http://127.0.0.1:9
            allow_public_unauthenticated_access: true
        """;

    private static readonly string s_hash = UsersCommand.HashPassword(Password);

    private protected abstract Task<TestStorage> CreateStorageAsync();

    private static string IdpYaml(string lockout = "{max_failed_attempts: 5, lockout_duration: 15m}") => $"""
        idp:
          provider: builtin
          lockout: {lockout}
          users:
            - email: alice@example.com
              name: Alice <Sales>
              groups: [sales]
              password_hash: {s_hash}
        """;

    private static Task<TestGateway> StartAsync(TestStorage storage, string? idpYaml = null) =>
        TestGateway.StartAsync(Routes, storage.Yaml + "\n" + (idpYaml ?? IdpYaml()));

    private static HttpClient NewClient(TestGateway gateway) =>
        new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { BaseAddress = gateway.BaseUri };

    [Fact]
    public async Task SignInPage_Get_FormWithAntiforgeryTokenAndSecurityHeaders()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await StartAsync(storage);
        using var client = NewClient(gateway);

        using var response = await client.GetAsync(SignInPath + "?redirect_uri=" + Uri.EscapeDataString("/app?q=\"<script>"), TestContext.Current.CancellationToken);
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("default-src 'none'; style-src 'self' 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
            Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        Assert.Matches(CsrfField(), html);
        Assert.Contains("gatehouse_csrf=", string.Join(';', response.Headers.GetValues("Set-Cookie")), StringComparison.Ordinal);
        Assert.Contains("value=\"/app?q=&quot;&lt;script&gt;\"", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("<form method=\"post\" action=\"/.gatehouse/sign_in\">", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignIn_WrongPasswordOrUnknownUser_GenericErrorAndNoSessionCookie()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await StartAsync(storage);
        using var client = NewClient(gateway);

        foreach (var (email, password) in new[] { ("alice@example.com", "wrong"), ("nobody@example.com", Password) })
        {
            using var response = await PostSignInAsync(client, email, password);
            var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("Wrong email or password.", html, StringComparison.Ordinal);
            Assert.Null(SessionCookie(response));
        }

        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Message.Contains("wrong", StringComparison.Ordinal) && e.Message.Contains("alice", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SignIn_RightPassword_SessionCookieStoredHashedAndRedirectToLocalPath()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await StartAsync(storage);
        using var client = NewClient(gateway);

        using var response = await PostSignInAsync(client, "Alice@Example.com", Password, "/app/page?x=1");

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/app/page?x=1", response.Headers.Location?.OriginalString);
        var setCookie = Assert.Single(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("__Host-gatehouse_session=", StringComparison.Ordinal)).ToLowerInvariant();
        Assert.Contains("; secure", setCookie, StringComparison.Ordinal);
        Assert.Contains("; httponly", setCookie, StringComparison.Ordinal);
        Assert.Contains("; samesite=lax", setCookie, StringComparison.Ordinal);
        Assert.Contains("; path=/", setCookie, StringComparison.Ordinal);
        Assert.DoesNotContain("domain=", setCookie, StringComparison.Ordinal);

        var cookie = SessionCookie(response)!;
        Assert.True(Convert.FromBase64String(cookie.Replace('-', '+').Replace('_', '/') + "=").Length == 32, "256-bit session id");
        var user = await gateway.Services.GetRequiredService<ISessionUserAccessor>().ResolveAsync(cookie, TestContext.Current.CancellationToken);
        Assert.NotNull(user);
        Assert.Equal("alice@example.com", user.Email);
        Assert.Equal("Alice <Sales>", user.Name);
        Assert.Equal(["sales"], user.Groups);

        await using var scope = gateway.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var row = Assert.Single(await db.UserSessions.ToListAsync(TestContext.Current.CancellationToken));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(cookie))), row.Id);
        Assert.True(row.ExpiresAt - row.CreatedAt == TimeSpan.FromHours(8));
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Message.Contains(cookie, StringComparison.Ordinal) || e.Message.Contains(Password, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("//evil.example")]
    [InlineData("/\\evil.example")]
    [InlineData("http:evil.example")]
    [InlineData("/\tevil.example")]
    public async Task SignIn_OpenRedirectAttempt_EndsOnDefaultPage(string redirect)
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await StartAsync(storage);
        using var client = NewClient(gateway);

        using var response = await PostSignInAsync(client, "alice@example.com", Password, redirect);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", response.Headers.Location?.OriginalString);
        Assert.NotNull(SessionCookie(response));
    }

    [Fact]
    public async Task SignIn_RepeatedFailures_LockedOutEvenWithRightPasswordThenReleased()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await StartAsync(storage, IdpYaml("{max_failed_attempts: 3, lockout_duration: 2s}"));
        using var client = NewClient(gateway);

        for (var i = 1; i <= 2; i++)
        {
            using var failure = await PostSignInAsync(client, "alice@example.com", "wrong");
            Assert.Equal(HttpStatusCode.BadRequest, failure.StatusCode);
        }

        using (var third = await PostSignInAsync(client, "alice@example.com", "wrong"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, third.StatusCode);
            Assert.Contains("Too many failed sign-in attempts", await third.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
            Assert.Equal(TimeSpan.FromSeconds(2), third.Headers.RetryAfter?.Delta);
        }

        using (var locked = await PostSignInAsync(client, "ALICE@example.com", Password))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
            Assert.Null(SessionCookie(locked));
            Assert.InRange(locked.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
        }

        // Released once the lock-out duration has passed: poll rather than assume how long that takes here.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (true)
        {
            using var attempt = await PostSignInAsync(client, "alice@example.com", Password);
            if (attempt.StatusCode == HttpStatusCode.Redirect)
            {
                Assert.NotNull(SessionCookie(attempt));
                break;
            }

            Assert.Equal(HttpStatusCode.TooManyRequests, attempt.StatusCode);
            await Task.Delay(250, deadline.Token);
        }
    }

    [Fact]
    public async Task SignIn_LockoutCountedByOneReplica_SeenByAnother()
    {
        await using var storage = await CreateStorageAsync();
        var yaml = IdpYaml("{max_failed_attempts: 2, lockout_duration: 10m}");
        await using var first = await StartAsync(storage, yaml);
        await using var second = await StartAsync(storage, yaml);
        using var firstClient = NewClient(first);
        using var secondClient = NewClient(second);

        using var one = await PostSignInAsync(firstClient, "alice@example.com", "wrong");
        using var two = await PostSignInAsync(secondClient, "alice@example.com", "wrong");
        using var right = await PostSignInAsync(firstClient, "alice@example.com", Password);

        Assert.Equal(HttpStatusCode.BadRequest, one.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, two.StatusCode);
        Assert.Equal(HttpStatusCode.TooManyRequests, right.StatusCode);
    }

    [Fact]
    public async Task SignIn_FailuresFromOneAddressAcrossAccounts_AddressRefusedEvenWithRightPassword()
    {
        // Password spraying: one wrong password on each of several accounts, none of them near its own lock-out.
        await using var storage = await CreateStorageAsync();
        await using var gateway = await StartAsync(storage, IdpYaml("{max_failed_attempts: 100, max_failed_attempts_per_address: 3, lockout_duration: 10m}"));
        using var client = NewClient(gateway);
        foreach (var email in new[] { "bob@example.com", "carol@example.com", "alice@example.com" })
        {
            using var failure = await PostSignInAsync(client, email, "Winter2026!");
            Assert.Equal(HttpStatusCode.BadRequest, failure.StatusCode);
        }

        using (var refused = await PostSignInAsync(client, "alice@example.com", Password))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
            Assert.Contains("from your network", await refused.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
            Assert.Equal(TimeSpan.FromMinutes(10), refused.Headers.RetryAfter?.Delta);
            Assert.Null(SessionCookie(refused));
        }

        Assert.Contains(gateway.Logs.Entries, e => e.EventId == 4005 && e.Message.StartsWith("3 failed sign-ins from 127.0.0.1 within", StringComparison.Ordinal));
        Assert.DoesNotContain(gateway.Logs.Entries, e => e.Message.Contains("Winter2026!", StringComparison.Ordinal));

        // Another replica keeps its own count (in memory), and the account itself is not locked (one failure of 100).
        await using var other = await StartAsync(storage, IdpYaml("{max_failed_attempts: 100, max_failed_attempts_per_address: 3, lockout_duration: 10m}"));
        using var otherClient = NewClient(other);
        Assert.NotNull(await SignInAsync(otherClient));
    }

    [Fact]
    public async Task SignIn_SuccessesFromOneAddress_NotCountedAgainstIt()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await StartAsync(storage, IdpYaml("{max_failed_attempts: 100, max_failed_attempts_per_address: 2, lockout_duration: 10m}"));
        using var client = NewClient(gateway);

        for (var i = 0; i < 4; i++)
        {
            Assert.NotNull(await SignInAsync(client));
        }

        using (var failure = await PostSignInAsync(client, "alice@example.com", "wrong"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, failure.StatusCode);
        }

        Assert.NotNull(await SignInAsync(client));
    }

    [Fact]
    public async Task OidcPages_BuiltinProvider_NotFoundPages()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await StartAsync(storage);
        using var client = NewClient(gateway);

        foreach (var path in new[] { "/.gatehouse/oidc/callback?code=x&state=y", "/.gatehouse/oidc/signed_out?state=y" })
        {
            using var response = await client.GetAsync(path, TestContext.Current.CancellationToken);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Contains("not configured on this gateway", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task SignIn_NoAntiforgeryToken_400AndNoSession()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await StartAsync(storage);
        using var client = NewClient(gateway);
        var (_, csrfCookie) = await GetFormAsync(client, SignInPath);

        using var request = new HttpRequestMessage(HttpMethod.Post, SignInPath)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["email"] = "alice@example.com", ["password"] = Password }),
        };
        request.Headers.Add("Cookie", csrfCookie);
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(SessionCookie(response));
    }

    [Fact]
    public async Task SignOut_SignedIn_RevokesThisAndEveryOtherSessionOfTheUser()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await StartAsync(storage);
        using var client = NewClient(gateway);
        var sessions = gateway.Services.GetRequiredService<ISessionUserAccessor>();
        var ct = TestContext.Current.CancellationToken;
        string[] cookies = [await SignInAsync(client), await SignInAsync(client)];
        foreach (var cookie in cookies)
        {
            // Resolved once first, so the cache holds them when the revocation happens.
            Assert.NotNull(await sessions.ResolveAsync(cookie, ct));
        }

        var (token, csrfCookie) = await GetFormAsync(client, SignOutPath);
        using var request = new HttpRequestMessage(HttpMethod.Post, SignOutPath)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["csrf_token"] = token }),
        };
        request.Headers.Add("Cookie", $"{csrfCookie}; __Host-gatehouse_session={cookies[0]}");
        using var response = await client.SendAsync(request, ct);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal(SignInPath, response.Headers.Location?.OriginalString);
        Assert.Contains(response.Headers.GetValues("Set-Cookie"), c => c.StartsWith("__Host-gatehouse_session=;", StringComparison.Ordinal) && c.Contains("expires=Thu, 01 Jan 1970", StringComparison.OrdinalIgnoreCase));
        Assert.Null(await sessions.ResolveAsync(cookies[0], ct));

        // The other browser's session is revoked in the database; the cache lets it go within seconds.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(30));
        while (await sessions.ResolveAsync(cookies[1], ct) is not null)
        {
            await Task.Delay(250, deadline.Token);
        }

        await using var scope = gateway.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        Assert.All(await db.UserSessions.ToListAsync(ct), s => Assert.NotNull(s.RevokedAt));
    }

    [Fact]
    public async Task SignOut_NoAntiforgeryToken_400AndSessionStillValid()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await StartAsync(storage);
        using var client = NewClient(gateway);
        var cookie = await SignInAsync(client);

        using var request = new HttpRequestMessage(HttpMethod.Post, SignOutPath) { Content = new FormUrlEncodedContent([]) };
        request.Headers.Add("Cookie", $"__Host-gatehouse_session={cookie}");
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.NotNull(await gateway.Services.GetRequiredService<ISessionUserAccessor>().ResolveAsync(cookie, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Session_GatewayRestartOnSameDatabase_StillResolves()
    {
        await using var storage = await CreateStorageAsync();
        string cookie;
        await using (var first = await StartAsync(storage))
        {
            using var client = NewClient(first);
            cookie = await SignInAsync(client);
        }

        await using var second = await StartAsync(storage);
        var user = await second.Services.GetRequiredService<ISessionUserAccessor>().ResolveAsync(cookie, TestContext.Current.CancellationToken);

        Assert.Equal("alice@example.com", user?.Email);
        Assert.Null(await second.Services.GetRequiredService<ISessionUserAccessor>().ResolveAsync(cookie + "x", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task SignInPage_NoIdpConfigured_NotServed()
    {
        await using var storage = await CreateStorageAsync();
        await using var gateway = await TestGateway.StartAsync(Routes, storage.Yaml);
        using var client = NewClient(gateway);

        using var response = await client.GetAsync(SignInPath, TestContext.Current.CancellationToken);

        Assert.NotEqual(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("Content-Security-Policy"));
    }

    private static async Task<string> SignInAsync(HttpClient client)
    {
        using var response = await PostSignInAsync(client, "alice@example.com", Password);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return SessionCookie(response) ?? throw new InvalidOperationException("no session cookie");
    }

    /// <summary>GETs a page and returns its antiforgery form token and the matching cookie (name=value).</summary>
    private static async Task<(string Token, string Cookie)> GetFormAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path, TestContext.Current.CancellationToken);
        var html = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var token = CsrfField().Match(html).Groups[1].Value;
        var cookie = response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("gatehouse_csrf=", StringComparison.Ordinal)).Split(';')[0];
        return (WebUtility.HtmlDecode(token), cookie);
    }

    private static async Task<HttpResponseMessage> PostSignInAsync(HttpClient client, string email, string password, string? redirect = null)
    {
        var (token, cookie) = await GetFormAsync(client, SignInPath);
        var form = new Dictionary<string, string> { ["csrf_token"] = token, ["email"] = email, ["password"] = password };
        if (redirect is not null)
        {
            form["redirect_uri"] = redirect;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, SignInPath) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Add("Cookie", cookie);
        return await client.SendAsync(request, TestContext.Current.CancellationToken);
    }

    private static string? SessionCookie(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values)
            ? values.Where(c => c.StartsWith("__Host-gatehouse_session=", StringComparison.Ordinal))
                .Select(c => c.Split(';')[0]["__Host-gatehouse_session=".Length..])
                .FirstOrDefault(v => v.Length > 0)
            : null;

    [GeneratedRegex("name=\"csrf_token\" value=\"([^\"]+)\"")]
    private static partial Regex CsrfField();
}

public sealed class SqliteSignInTests : SignInTests
{
    private protected override Task<TestStorage> CreateStorageAsync() => Task.FromResult<TestStorage>(new SqliteTestStorage());
}

public sealed class PostgresSignInTests : SignInTests
{
    private protected override async Task<TestStorage> CreateStorageAsync() => await PostgresTestStorage.CreateAsync();
}
