using System.ComponentModel;
using System.Text.Json;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gatehouse.Conformance.Server.Resources;

/// <summary>
/// Scenarios <c>resources-list</c>, <c>resources-read-text</c>, <c>resources-read-binary</c>,
/// <c>resources-templates-read</c>, and the resource that <c>resources-subscribe</c> watches.
/// </summary>
[McpServerResourceType]
internal static class ConformanceResources
{
    public const string StaticTextUri = "test://static-text";
    public const string StaticBinaryUri = "test://static-binary";
    public const string TemplateUri = "test://template/{id}/data";
    public const string WatchedUri = "test://watched-resource";

    [McpServerResource(UriTemplate = StaticTextUri, Name = "static-text", Title = "Static text", MimeType = "text/plain")]
    [Description("A static text resource.")]
    public static TextResourceContents StaticText() => new()
    {
        Uri = StaticTextUri,
        MimeType = "text/plain",
        Text = "This is the content of the static text resource.",
    };

    [McpServerResource(UriTemplate = StaticBinaryUri, Name = "static-binary", Title = "Static binary", MimeType = TestMedia.PngMimeType)]
    [Description("A static binary resource (a 1x1 PNG).")]
    public static BlobResourceContents StaticBinary() => BlobResourceContents.FromBytes(TestMedia.Png, StaticBinaryUri, TestMedia.PngMimeType);

    [McpServerResource(UriTemplate = TemplateUri, Name = "template-data", Title = "Templated data", MimeType = "application/json")]
    [Description("JSON data for the id in the URI.")]
    public static TextResourceContents TemplateData([Description("Any identifier")] string id) => new()
    {
        Uri = $"test://template/{id}/data",
        MimeType = "application/json",
        Text = JsonSerializer.Serialize(new TemplateData(id, true, $"Data for ID: {id}"), ConformanceJsonContext.Default.TemplateData),
    };

    [McpServerResource(UriTemplate = WatchedUri, Name = "watched-resource", Title = "Watched resource", MimeType = "text/plain")]
    [Description("A resource clients can subscribe to.")]
    public static TextResourceContents Watched() => new()
    {
        Uri = WatchedUri,
        MimeType = "text/plain",
        Text = "Watched resource content.",
    };
}

/// <summary>The body of a templated resource: <c>{"id":"123","templateTest":true,"data":"Data for ID: 123"}</c>.</summary>
internal sealed record TemplateData(string Id, bool TemplateTest, string Data);
