namespace Gatehouse.Conformance.Server.Hosting;

/// <summary>
/// Drops <c>MCP-Protocol-Version: 2025-03-26</c> from requests inside a session, so the session's negotiated version
/// applies.
/// </summary>
/// <remarks>
/// The suite's raw requests in <c>server-sse-polling</c> and <c>server-sse-multiple-streams</c> send that header on
/// a session its own client negotiated at 2025-11-25, and SDK 2.4 refuses a request whose header differs from the
/// negotiated version. The resumption path (priming event, <c>retry</c>, GET with <c>Last-Event-ID</c>) is then never
/// exercised. Dropping the header loses nothing: 2025-03-26 is the version the spec says to assume when the header is
/// absent and the server has no other way to know (MCP 2025-11-25, Transports, "Protocol Version Header"), and a
/// session does have another way. See docs/conformance.md.
/// </remarks>
internal sealed class LegacyProtocolHeaderShim(RequestDelegate next)
{
    private const string ProtocolVersionHeader = "MCP-Protocol-Version";
    private const string SessionIdHeader = "Mcp-Session-Id";
    private const string DefaultAssumedVersion = "2025-03-26";

    public Task InvokeAsync(HttpContext context)
    {
        var headers = context.Request.Headers;
        if (headers.ContainsKey(SessionIdHeader) && headers[ProtocolVersionHeader] == DefaultAssumedVersion)
        {
            headers.Remove(ProtocolVersionHeader);
        }

        return next(context);
    }
}
