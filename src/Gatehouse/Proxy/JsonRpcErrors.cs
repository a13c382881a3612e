using System.Text.Json;

namespace Gatehouse.Proxy;

/// <summary>
/// JSON-RPC 2.0 error responses for MCP routes. MCP clients parse every answer on an MCP endpoint as JSON-RPC, so
/// errors the gateway produces itself are JSON-RPC too (JSON-RPC 2.0 §5.1), echoing the request id when it is known.
/// </summary>
internal static class JsonRpcErrors
{
    /// <summary>JSON-RPC 2.0 §5.1: the JSON sent is not a valid Request object.</summary>
    public const int InvalidRequest = -32600;

    /// <summary>
    /// Implementation-defined server error range (JSON-RPC 2.0 §5.1): the gateway could not reach the server.
    /// Chosen clear of the codes MCP and its SDKs use (-32000 connection closed, -32001 request timeout in the
    /// TypeScript SDK, -32002 resource not found, -32042 URL elicitation required).
    /// </summary>
    public const int UpstreamUnavailable = -32050;

    /// <summary>The upstream did not answer in time (route <c>timeout</c> or <c>idle_timeout</c>).</summary>
    public const int UpstreamTimeout = -32051;

    /// <summary>No valid credential: HTTP 401 with WWW-Authenticate says what to do.</summary>
    public const int Unauthorized = -32052;

    /// <summary>The gateway cannot check credentials right now (storage unreachable): HTTP 503, retry.</summary>
    public const int CredentialCheckUnavailable = -32053;

    /// <summary>A policy refused the call; the message names no rule, <c>data.request_id</c> finds it in the audit log.</summary>
    public const int Forbidden = -32054;

    /// <summary>Over a <c>rate_limit</c>: HTTP 429 with Retry-After.</summary>
    public const int RateLimited = -32056;

    public static async Task WriteAsync(HttpContext context, int httpStatus, int code, string message)
    {
        var response = context.Response;
        response.StatusCode = httpStatus;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";

        var rawId = context.Features.Get<McpRequestFeature>()?.RawId;
        await using var writer = new Utf8JsonWriter(response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteString("jsonrpc"u8, "2.0"u8);
        writer.WritePropertyName("id"u8);
        if (rawId is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteRawValue(rawId, skipInputValidation: true);
        }

        writer.WriteStartObject("error"u8);
        writer.WriteNumber("code"u8, code);
        writer.WriteString("message"u8, message);
        writer.WriteEndObject();
        writer.WriteEndObject();
        // Not the request's token: after a route timeout it is already cancelled, and the answer must still go out.
        await writer.FlushAsync(CancellationToken.None);
        await response.BodyWriter.FlushAsync(CancellationToken.None);
    }

    /// <summary>An RFC 9457 problem document, for errors the gateway produces on routes that are not MCP servers.</summary>
    public static async Task WriteProblemAsync(HttpContext context, int httpStatus, string title, string detail)
    {
        var response = context.Response;
        response.StatusCode = httpStatus;
        response.ContentType = "application/problem+json";
        response.Headers.CacheControl = "no-store";
        await using var writer = new Utf8JsonWriter(response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteString("type"u8, "https://tools.ietf.org/html/rfc9110#section-15.6." + (httpStatus == StatusCodes.Status504GatewayTimeout ? "5" : "3"));
        writer.WriteString("title"u8, title);
        writer.WriteNumber("status"u8, httpStatus);
        writer.WriteString("detail"u8, detail);
        writer.WriteEndObject();
        await writer.FlushAsync(CancellationToken.None);
        await response.BodyWriter.FlushAsync(CancellationToken.None);
    }
}

/// <summary>What the gateway read from an MCP request body (the bounded JSON-RPC read).</summary>
internal sealed class McpRequestFeature
{
    /// <summary>The <c>id</c> member as raw JSON (a number or a string), or null for notifications and batches.</summary>
    public string? RawId { get; init; }

    /// <summary>The JSON-RPC <c>method</c>, when the body is a single message.</summary>
    public string? Method { get; init; }

    public int BodyLength { get; init; }
}
