using System.Net;
using System.Text.RegularExpressions;
using System.Web;
using Microsoft.AspNetCore.WebUtilities;

namespace Gatehouse.Servers.Notes.Tests.Infrastructure;

/// <summary>
/// A user's browser without a browser: keeps cookies, follows nothing by itself, and fills in the sign-in and consent
/// forms the way a person would (every hidden field, the antiforgery token included).
/// </summary>
internal sealed partial class Browser : IDisposable
{
    private readonly HttpClient _http;

    public Browser(Uri origin) =>
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = origin };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public Task<HttpResponseMessage> GetAsync(string url) => _http.GetAsync(url, Ct);

    public async Task<HttpResponseMessage> PostFormAsync(string url, IEnumerable<KeyValuePair<string, string>> fields)
    {
        using var content = new FormUrlEncodedContent(fields);
        return await _http.PostAsync(url, content, Ct);
    }

    /// <summary>A JSON-RPC POST to the MCP endpoint with this browser's cookies and no bearer token.</summary>
    public async Task<HttpResponseMessage> PostMcpAsync(string json)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/mcp") { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Accept.ParseAdd("application/json, text/event-stream");
        return await _http.SendAsync(request, Ct);
    }

    /// <summary>Signs in with the form; the response is the redirect that follows a good password.</summary>
    public async Task<HttpResponseMessage> TrySignInAsync(string email, string password, string returnUrl = "/")
    {
        using var page = await GetAsync("/signin?return_url=" + Uri.EscapeDataString(returnUrl));
        var fields = HiddenInputs(await page.Content.ReadAsStringAsync(Ct));
        fields.Add(new("email", email));
        fields.Add(new("password", password));
        return await PostFormAsync("/signin", fields);
    }

    public async Task SignInAsync(string email, string password)
    {
        using var response = await TrySignInAsync(email, password);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
    }

    /// <summary>
    /// Opens an authorization URL as the signed-in user and answers the consent page, if one is shown, with
    /// <paramref name="decision"/>. Returns where the server finally sent the browser: the client's redirect URI.
    /// </summary>
    public async Task<AuthorizationResponse> AuthorizeAsync(string authorizeUrl, string decision = "allow")
    {
        using var response = await GetAsync(authorizeUrl);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return AuthorizationResponse.From(response);
        }

        var fields = HiddenInputs(await response.Content.ReadAsStringAsync(Ct));
        fields.Add(new("consent_decision", decision));
        using var consent = await PostFormAsync("/authorize", fields);
        return AuthorizationResponse.From(consent);
    }

    /// <summary>Every hidden input of a page, as the browser would post it.</summary>
    public static List<KeyValuePair<string, string>> HiddenInputs(string html) =>
        [.. HiddenInput().Matches(html).Select(m => KeyValuePair.Create(HttpUtility.HtmlDecode(m.Groups["name"].Value), HttpUtility.HtmlDecode(m.Groups["value"].Value)))];

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("""<input type="hidden" name="(?<name>[^"]*)" value="(?<value>[^"]*)">""")]
    private static partial Regex HiddenInput();
}

/// <summary>The redirect that ends an authorization request, and the parameters it carries to the client.</summary>
internal sealed record AuthorizationResponse(Uri Location)
{
    private readonly Dictionary<string, Microsoft.Extensions.Primitives.StringValues> _query = QueryHelpers.ParseQuery(Location.Query);

    public string? Code => Get("code");

    public string? State => Get("state");

    public string? Iss => Get("iss");

    public string? Error => Get("error");

    private string? Get(string name) => _query.TryGetValue(name, out var value) ? value.ToString() : null;

    /// <summary>The redirect of <paramref name="response"/>, or a failure that shows what came instead.</summary>
    public static AuthorizationResponse From(HttpResponseMessage response)
    {
        if (response.StatusCode is HttpStatusCode.Redirect or HttpStatusCode.Found && response.Headers.Location is { IsAbsoluteUri: true } location)
        {
            return new AuthorizationResponse(location);
        }

        var body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
        Assert.Fail($"expected a redirect to the client, got {(int)response.StatusCode} to '{response.Headers.Location}': {body[..Math.Min(body.Length, 500)]}");
        return null!;
    }
}
