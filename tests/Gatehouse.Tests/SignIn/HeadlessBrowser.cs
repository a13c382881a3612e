using System.Net;
using System.Text.RegularExpressions;

namespace Gatehouse.Tests.SignIn;

/// <summary>
/// Just enough of a browser for a sign-in through an identity provider: cookies kept per origin (by hand, since the
/// gateway's session cookie is Secure and a cookie container would never send it over http://127.0.0.1), redirects
/// followed one at a time, and HTML forms posted with their hidden fields.
/// </summary>
internal sealed partial class HeadlessBrowser : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseCookies = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(60) };
    private readonly Dictionary<string, Dictionary<string, string>> _cookies = new(StringComparer.OrdinalIgnoreCase);

    public async Task<HttpResponseMessage> GetAsync(Uri uri) => await SendAsync(HttpMethod.Get, uri, form: null);

    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri uri, IEnumerable<KeyValuePair<string, string>>? form)
    {
        using var request = new HttpRequestMessage(method, uri);
        if (form is not null)
        {
            request.Content = new FormUrlEncodedContent(form);
        }

        if (_cookies.TryGetValue(uri.Authority, out var jar) && jar.Count > 0)
        {
            request.Headers.Add("Cookie", string.Join("; ", jar.Select(c => $"{c.Key}={c.Value}")));
        }

        var response = await _http.SendAsync(request, TestContext.Current.CancellationToken);
        Store(uri, response);
        return response;
    }

    /// <summary>
    /// Follows redirects while <paramref name="follow"/> allows the next location (by default always); returns the
    /// first response that is not a redirect, or the redirect not followed.
    /// </summary>
    public async Task<HttpResponseMessage> FollowAsync(HttpResponseMessage response, Func<Uri, bool>? follow = null)
    {
        for (var hops = 0; IsRedirect(response.StatusCode); hops++)
        {
            Assert.True(hops < 20, "Too many redirects");
            var next = NextLocation(response);
            if (follow?.Invoke(next) == false)
            {
                return response;
            }

            response.Dispose();
            response = await GetAsync(next);
        }

        return response;
    }

    /// <summary>Posts the page's (first) form with its hidden fields and <paramref name="fields"/>.</summary>
    public async Task<HttpResponseMessage> SubmitFormAsync(HttpResponseMessage page, Dictionary<string, string> fields)
    {
        var html = await page.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var form = FormTag().Match(html);
        Assert.True(form.Success, "No form on the page:\n" + html);
        var action = new Uri(page.RequestMessage!.RequestUri!, WebUtility.HtmlDecode(form.Groups["action"].Value));
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match input in HiddenInput().Matches(html))
        {
            values[WebUtility.HtmlDecode(input.Groups["name"].Value)] = WebUtility.HtmlDecode(input.Groups["value"].Value);
        }

        foreach (var (name, value) in fields)
        {
            values[name] = value;
        }

        return await SendAsync(HttpMethod.Post, action, values);
    }

    public string? Cookie(Uri origin, string name) =>
        _cookies.TryGetValue(origin.Authority, out var jar) && jar.TryGetValue(name, out var value) ? value : null;

    public static Uri NextLocation(HttpResponseMessage response) =>
        new(response.RequestMessage!.RequestUri!, response.Headers.Location ?? throw new InvalidOperationException("A redirect without Location"));

    public static bool IsRedirect(HttpStatusCode status) => (int)status is >= 300 and < 400;

    public void Dispose() => _http.Dispose();

    private void Store(Uri uri, HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Set-Cookie", out var values))
        {
            return;
        }

        if (!_cookies.TryGetValue(uri.Authority, out var jar))
        {
            _cookies[uri.Authority] = jar = new Dictionary<string, string>(StringComparer.Ordinal);
        }

        foreach (var header in values)
        {
            var parts = header.Split(';', StringSplitOptions.TrimEntries);
            var nameValue = parts[0].Split('=', 2);
            var deleted = nameValue.Length < 2 || nameValue[1].Length == 0 ||
                parts.Any(p => p.Equals("max-age=0", StringComparison.OrdinalIgnoreCase) || p.Contains("1970", StringComparison.Ordinal));
            if (deleted)
            {
                jar.Remove(nameValue[0]);
            }
            else
            {
                jar[nameValue[0]] = nameValue[1];
            }
        }
    }

    [GeneratedRegex("<form[^>]*action=\"(?<action>[^\"]+)\"[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex FormTag();

    [GeneratedRegex("<input type=\"hidden\" name=\"(?<name>[^\"]+)\" value=\"(?<value>[^\"]*)\"", RegexOptions.IgnoreCase)]
    private static partial Regex HiddenInput();
}
