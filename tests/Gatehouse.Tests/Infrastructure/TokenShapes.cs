using System.Text.RegularExpressions;

namespace Gatehouse.Tests.Infrastructure;

/// <summary>
/// What a leaked token looks like in text a test inspects (pages, logs, requests to an LLM). A compact JWS (RFC 7515
/// §7.1) is three base64url segments joined by dots, the first a JSON header, so it starts with "eyJ". A bare "eyJ"
/// is not enough: random base64 (Blazor's prerendered component state, Data Protection payloads) contains it by
/// chance now and then, which made such assertions flaky.
/// </summary>
public static partial class TokenShapes
{
    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")]
    public static partial Regex Jwt();
}
