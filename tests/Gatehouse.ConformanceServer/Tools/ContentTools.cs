using System.ComponentModel;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Gatehouse.Conformance.Server.Tools;

/// <summary>
/// Tools whose results exercise each content block type: scenarios <c>tools-call-simple-text</c>,
/// <c>tools-call-image</c>, <c>tools-call-audio</c>, <c>tools-call-embedded-resource</c>,
/// <c>tools-call-mixed-content</c> and <c>tools-call-error</c>.
/// </summary>
[McpServerToolType]
internal static class ContentTools
{
    [McpServerTool(Name = "test_simple_text", ReadOnly = true)]
    [Description("Returns one text content block.")]
    public static string SimpleText() => "This is a simple text response for testing.";

    [McpServerTool(Name = "test_image_content", ReadOnly = true)]
    [Description("Returns one image content block (a 1x1 PNG).")]
    public static ImageContentBlock ImageContent() => ImageContentBlock.FromBytes(TestMedia.Png, TestMedia.PngMimeType);

    [McpServerTool(Name = "test_audio_content", ReadOnly = true)]
    [Description("Returns one audio content block (a short WAV).")]
    public static AudioContentBlock AudioContent() => AudioContentBlock.FromBytes(TestMedia.Wav, TestMedia.WavMimeType);

    [McpServerTool(Name = "test_embedded_resource", ReadOnly = true)]
    [Description("Returns one embedded text resource.")]
    public static EmbeddedResourceBlock EmbeddedResource() => new()
    {
        Resource = new TextResourceContents
        {
            Uri = "test://embedded-resource",
            MimeType = "text/plain",
            Text = "This is an embedded resource content.",
        },
    };

    [McpServerTool(Name = "test_multiple_content_types", ReadOnly = true)]
    [Description("Returns text, image and embedded resource content in one result.")]
    public static IEnumerable<ContentBlock> MultipleContentTypes() =>
    [
        new TextContentBlock { Text = "Multiple content types test:" },
        ImageContentBlock.FromBytes(TestMedia.Png, TestMedia.PngMimeType),
        new EmbeddedResourceBlock
        {
            Resource = new TextResourceContents
            {
                Uri = "test://mixed-content-resource",
                MimeType = "application/json",
                Text = """{"test":"data","value":123}""",
            },
        },
    ];

    // A tool failure is a result with isError, not a JSON-RPC error, so the model can see it
    // (MCP 2025-11-25, Server / Tools, "Error Handling").
    [McpServerTool(Name = "test_error_handling", ReadOnly = true)]
    [Description("Always fails with isError: true.")]
    public static CallToolResult ErrorHandling() => new()
    {
        IsError = true,
        Content = [new TextContentBlock { Text = "This tool intentionally returns an error for testing" }],
    };
}
