using System.Globalization;

namespace Gatehouse.Proxy;

/// <summary>The <c>Retry-After</c> header of a 429: whole seconds, rounded up, at least 1 (RFC 9110 §10.2.3).</summary>
internal static class RetryAfter
{
    /// <summary>Sets the header; returns the seconds it says, for a message that repeats them.</summary>
    public static int Set(HttpResponse response, TimeSpan wait)
    {
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        return seconds;
    }
}
