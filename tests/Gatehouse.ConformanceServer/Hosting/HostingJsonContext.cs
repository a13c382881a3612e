using System.Text.Json.Serialization;

namespace Gatehouse.Conformance.Server.Hosting;

/// <summary>A JSON-RPC error response written outside the SDK (before a request reaches it).</summary>
internal sealed record JsonRpcErrorBody(
    [property: JsonPropertyName("jsonrpc")] string JsonRpc,
    [property: JsonPropertyName("id")] string? Id,
    [property: JsonPropertyName("error")] JsonRpcErrorDetail Error);

internal sealed record JsonRpcErrorDetail(
    [property: JsonPropertyName("code")] int Code,
    [property: JsonPropertyName("message")] string Message);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(JsonRpcErrorBody))]
internal sealed partial class HostingJsonContext : JsonSerializerContext;
