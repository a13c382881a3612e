using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Gatehouse.SignIn;

/// <summary>
/// The gateway's own pages (sign-in, consent, connected apps, errors): plain server-rendered HTML that works
/// without JavaScript, is never framed (clickjacking), never cached and loads nothing from elsewhere.
/// </summary>
internal static class HtmlPage
{
    /// <summary>
    /// <c>form-action 'self'</c> would block the redirect that follows a consent form to the client's redirect URI
    /// in Chromium, so pages that post such forms pass <paramref name="formAction"/> to widen it.
    /// </summary>
    public static string ContentSecurityPolicy(string formAction = "'self'") =>
        $"default-src 'none'; style-src 'self' 'unsafe-inline'; form-action {formAction}; frame-ancestors 'none'";

    /// <param name="extraDirectives">More CSP, such as a page's <c>img-src</c> or a nonce'd <c>script-src</c>.</param>
    /// <param name="extraStyle">CSS rules for this page.</param>
    public static ContentHttpResult Render(
        HttpContext context, string title, string body, int statusCode, string formAction = "'self'", string? extraDirectives = null, string? extraStyle = null)
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy(formAction) + (extraDirectives is null ? "" : "; " + extraDirectives);
        headers.XFrameOptions = "DENY";
        headers.CacheControl = "no-store";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        var html = $"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{Encode(title)} · Gatehouse</title>
            <style>
            body {"{"} font-family: system-ui, sans-serif; max-width: 22rem; margin: 4rem auto; padding: 0 1rem; {"}"}
            label {"{"} display: block; margin: 0 0 1rem; {"}"}
            input {"{"} display: block; width: 100%; box-sizing: border-box; padding: .5rem; margin-top: .25rem; {"}"}
            button {"{"} padding: .5rem 1rem; {"}"}
            .error {"{"} color: #a00; {"}"}
            {extraStyle}
            </style>
            </head>
            <body>
            <h1>{Encode(title)}</h1>
            {body}
            </body>
            </html>
            """;
        return TypedResults.Content(html, "text/html; charset=utf-8", statusCode: statusCode);
    }

    public static string Encode(string? text) => HtmlEncoder.Default.Encode(text ?? "");
}
