using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Conformance.Server.Resources;

namespace Gatehouse.Conformance.Server;

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(IDictionary<string, JsonElement>))]
[JsonSerializable(typeof(TemplateData))]
internal sealed partial class ConformanceJsonContext : JsonSerializerContext;
