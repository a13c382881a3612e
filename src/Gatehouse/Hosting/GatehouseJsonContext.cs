using System.Text.Json.Serialization;

namespace Gatehouse.Hosting;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ReadyStatus))]
internal sealed partial class GatehouseJsonContext : JsonSerializerContext;
