using System.Net;

namespace Gatehouse.Conformance.Server.Hosting;

/// <summary>
/// DNS-rebinding protection for a local server without authentication: a request whose Host, or whose Origin when
/// present, is not a loopback name is refused with 403 and a JSON-RPC error without an id.
/// </summary>
/// <remarks>
/// MCP 2025-11-25, Transports, "Security Warning": servers MUST validate the Origin header and, when bound to
/// localhost, should reject other hosts. The conformance scenario <c>dns-rebinding-protection</c> checks both.
/// </remarks>
internal sealed class LoopbackGuard(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        var host = context.Request.Host.Host;
        if (!IsLoopbackHost(host))
        {
            return RejectAsync(context, $"Host '{context.Request.Host}' is not a loopback address.");
        }

        var origin = context.Request.Headers.Origin.ToString();
        if (origin.Length > 0 && !IsLoopbackOrigin(origin))
        {
            return RejectAsync(context, $"Origin '{origin}' is not a loopback origin.");
        }

        return next(context);
    }

    /// <summary>Throws when any of the semicolon-separated listen URLs is not on a loopback host.</summary>
    public static void EnsureLoopbackUrls(string urls)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(urls);
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !IsLoopbackHost(uri.Host))
            {
                throw new ArgumentException(
                    $"Listen URL '{url}' is not on a loopback host; use http://127.0.0.1:PORT (0 picks a free port).",
                    nameof(urls));
            }
        }
    }

    internal static bool IsLoopbackHost(string host)
    {
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        // HostString and Uri keep the brackets around an IPv6 literal.
        var literal = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        return IPAddress.TryParse(literal, out var address) && IPAddress.IsLoopback(address);
    }

    private static bool IsLoopbackOrigin(string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && IsLoopbackHost(uri.Host);

    private static Task RejectAsync(HttpContext context, string message)
    {
        context.Response.StatusCode = StatusCodes.Status403Forbidden;
        return context.Response.WriteAsJsonAsync(
            new JsonRpcErrorBody("2.0", null, new JsonRpcErrorDetail(-32000, message)),
            HostingJsonContext.Default.JsonRpcErrorBody);
    }
}
