using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.SignIn;

/// <summary>The one user the test provider knows.</summary>
internal sealed record OidcTestAccount(string Subject, string Name, string? Email, string GroupsJson)
{
    public bool? EmailVerified { get; init; }
}

/// <summary>How the test provider behaves (oidc-provider.mjs documents each).</summary>
internal sealed record OidcTestProviderOptions
{
    public string ClientId { get; init; } = "gatehouse-test";

    /// <summary>Null: a public client (token_endpoint_auth_method none).</summary>
    public string? ClientSecret { get; init; } = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    public string GroupsClaim { get; init; } = "groups";

    public int AccessTokenSeconds { get; init; } = 600;

    public bool ClaimsInIdToken { get; init; }
}

/// <summary>
/// panva's oidc-provider (npm, pinned) under the pinned Node 22, on 127.0.0.1, started and killed by a test. It
/// starts before the gateway (whose provider_url needs its port) and learns the gateway's callback URL afterwards.
/// </summary>
internal sealed class OidcTestProvider : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<int> _port = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private int _disposed;

    private OidcTestProvider(Process process, OidcTestAccount account, OidcTestProviderOptions options)
    {
        _process = process;
        Account = account;
        Options = options;
    }

    public OidcTestAccount Account { get; }

    public OidcTestProviderOptions Options { get; }

    public int Port { get; private set; }

    public Uri Issuer => new($"http://127.0.0.1:{Port}");

    /// <summary>What the provider printed, for failure messages.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts the provider; it listens at once (on <paramref name="port"/>, 0 for any) and waits for <see cref="ServeAsync"/>.</summary>
    public static async Task<OidcTestProvider> StartAsync(OidcTestAccount account, OidcTestProviderOptions? options = null, int port = 0)
    {
        options ??= new OidcTestProviderOptions();
        var (node, modules) = await NodeTools.GetAsync(TestContext.Current.CancellationToken);
        var start = new ProcessStartInfo(node)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(NodeTools.RepositoryRoot, "tests", "Gatehouse.Tests", "SignIn", "oidc-provider.mjs"));
        var env = start.Environment;
        env["GATEHOUSE_NODE_MODULES"] = modules;
        env["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["CLIENT_ID"] = options.ClientId;
        env["CLIENT_SECRET"] = options.ClientSecret ?? "";
        env["ACCOUNT_SUB"] = account.Subject;
        env["ACCOUNT_NAME"] = account.Name;
        env["ACCOUNT_EMAIL"] = account.Email ?? "";
        env["ACCOUNT_GROUPS"] = account.GroupsJson;
        env["GROUPS_CLAIM"] = options.GroupsClaim;
        env["ACCESS_TOKEN_TTL"] = options.AccessTokenSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["CLAIMS_IN_ID_TOKEN"] = options.ClaimsInIdToken ? "true" : "false";
        env.Remove("REDIRECT_URI");
        if (account.EmailVerified is { } verified)
        {
            env["ACCOUNT_EMAIL_VERIFIED"] = verified ? "true" : "false";
        }
        else
        {
            env.Remove("ACCOUNT_EMAIL_VERIFIED");
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Cannot start Node.");
        var provider = new OidcTestProvider(process, account, options);
        process.OutputDataReceived += (_, e) => provider.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => provider.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            provider.Port = await provider._port.Task.WaitAsync(TimeSpan.FromSeconds(60), TestContext.Current.CancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            await provider.DisposeAsync();
            throw new InvalidOperationException("The OpenID Connect test provider did not start:\n" + provider.Output, ex);
        }

        return provider;
    }

    /// <summary>Gives the provider Gatehouse's callback URL (its client's one redirect URI) and waits until it serves.</summary>
    public async Task ServeAsync(Uri redirectUri)
    {
        await _process.StandardInput.WriteLineAsync(redirectUri.AbsoluteUri);
        await _process.StandardInput.FlushAsync(TestContext.Current.CancellationToken);
        try
        {
            await _listening.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            throw new InvalidOperationException("The OpenID Connect test provider did not come up:\n" + Output, ex);
        }
    }

    /// <summary>RFC 7662 introspection: whether the provider still honours this refresh token.</summary>
    public async Task<bool> IsActiveAsync(string refreshToken)
    {
        using var response = await PostAsClientAsync("/token/introspection", new() { ["token"] = refreshToken, ["token_type_hint"] = "refresh_token" });
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        return json.RootElement.GetProperty("active").GetBoolean();
    }

    /// <summary>RFC 7009 revocation of a refresh token: oidc-provider then revokes the whole grant.</summary>
    public async Task RevokeAsync(string refreshToken)
    {
        using var response = await PostAsClientAsync("/token/revocation", new() { ["token"] = refreshToken, ["token_type_hint"] = "refresh_token" });
        response.EnsureSuccessStatusCode();
    }

    /// <summary>Kills the provider (its whole memory: every grant goes). Safe to call twice.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync(CancellationToken.None);
        }

        _process.Dispose();
    }

    private async Task<HttpResponseMessage> PostAsClientAsync(string path, Dictionary<string, string> form)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Issuer, path)) { Content = new FormUrlEncodedContent(form) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(Options.ClientId)}:{Uri.EscapeDataString(Options.ClientSecret ?? "")}")));
        return await _http.SendAsync(request, TestContext.Current.CancellationToken);
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            _port.TrySetException(new InvalidOperationException("The provider exited."));
            _listening.TrySetException(new InvalidOperationException("The provider exited."));
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (line.StartsWith("port ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(5), out var port))
        {
            _port.TrySetResult(port);
        }
        else if (line.StartsWith("listening ", StringComparison.Ordinal))
        {
            _listening.TrySetResult();
        }
    }
}
