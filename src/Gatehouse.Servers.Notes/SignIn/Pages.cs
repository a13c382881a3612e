using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Gatehouse.Servers.Notes.SignIn;

/// <summary>
/// The server's few pages (sign-in, consent, errors, notes): server-rendered HTML with no script, never framed,
/// never cached, and every value encoded before it is written.
/// </summary>
internal static class Pages
{
    /// <summary>
    /// Renders a page. <paramref name="formTarget"/> widens CSP <c>form-action</c> for a form whose post is answered
    /// by a redirect to a client's redirect URI: browsers check that redirect against <c>form-action</c> too.
    /// </summary>
    public static ContentHttpResult Render(HttpContext context, string title, string body, int status = StatusCodes.Status200OK, string? formTarget = null)
    {
        var headers = context.Response.Headers;
        headers.XFrameOptions = "DENY";
        headers.ContentSecurityPolicy = $"default-src 'none'; img-src data:; style-src 'unsafe-inline'; form-action 'self'{(formTarget is null ? "" : " " + formTarget)}; frame-ancestors 'none'; base-uri 'none'";
        headers.CacheControl = "no-store";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        var html = $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{Encode(title)}} · Notes</title>
            <link rel="icon" href="data:,">
            <style>
            body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.4; }
            label { display: block; margin: 0 0 1rem; }
            input[type=email], input[type=password] { display: block; width: 100%; box-sizing: border-box; padding: .5rem; margin-top: .25rem; }
            button { padding: .5rem 1rem; margin-right: .5rem; }
            .error { color: #a00; }
            pre { white-space: pre-wrap; }
            </style>
            </head>
            <body>
            <h1>{{Encode(title)}}</h1>
            {{body}}
            </body>
            </html>
            """;
        return TypedResults.Content(html, "text/html; charset=utf-8", statusCode: status);
    }

    public static ContentHttpResult Error(HttpContext context, string message, string? code = null, int status = StatusCodes.Status400BadRequest) =>
        Render(context, "Something went wrong", $"""
            <p class="error" role="alert">{Encode(message)}</p>
            {(code is null ? "" : $"<p>Error code: <code>{Encode(code)}</code>. Go back to the application and try again.</p>")}
            """, status);

    /// <summary>A hidden form field.</summary>
    public static string Hidden(string name, string? value) => $"""<input type="hidden" name="{Encode(name)}" value="{Encode(value)}">""";

    public static string Encode(string? text) => HtmlEncoder.Default.Encode(text ?? "");
}
