using System.Text.Json.Serialization;
using Gatehouse.Servers.Notes.Authorization;
using Gatehouse.Servers.Notes.Notes;
using Gatehouse.Servers.Notes.ResourceServer;

namespace Gatehouse.Servers.Notes;

/// <summary>Source-generated JSON for everything the server writes or reads itself.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(bool))]
[JsonSerializable(typeof(ClientMetadata))]
[JsonSerializable(typeof(ClientMetadataDocument))]
[JsonSerializable(typeof(ClientRegistration))]
[JsonSerializable(typeof(OAuthError))]
[JsonSerializable(typeof(ResourceMetadata))]
[JsonSerializable(typeof(SearchResults))]
[JsonSerializable(typeof(NoteDocument))]
internal sealed partial class NotesJsonContext : JsonSerializerContext;
