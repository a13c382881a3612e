using System.Text.Json.Serialization;

namespace Gatehouse.Hosting;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ReadyStatus))]
[JsonSerializable(typeof(Signing.JsonWebKeySet))]
internal sealed partial class GatehouseJsonContext : JsonSerializerContext;
