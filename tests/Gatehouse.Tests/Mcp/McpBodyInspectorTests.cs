using System.Text;
using Gatehouse.Mcp;

namespace Gatehouse.Tests.Mcp;

public sealed class McpBodyInspectorTests
{
    private static (McpBody? Body, McpRefusal? Refusal) Inspect(string json) => McpBodyInspector.Inspect(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Inspect_ToolsCall_MethodToolIdAndArgumentsSlice()
    {
        var (body, refusal) = Inspect("""{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"query","arguments":{"sql":"SELECT 1","n":[1,2]}}}""");

        Assert.Null(refusal);
        var message = Assert.Single(body!.Messages);
        Assert.False(body.IsBatch);
        Assert.Equal(McpMessageKind.Request, message.Kind);
        Assert.Equal("7", message.RawId);
        Assert.Equal("tools/call", message.Method);
        Assert.Equal("query", message.Tool);
        Assert.Null(message.Prompt);
        Assert.Equal("""{"sql":"SELECT 1","n":[1,2]}""", Encoding.UTF8.GetString(message.Arguments.Span));
    }

    [Fact]
    public void Inspect_ParamsBeforeMethod_TargetChosenByMethod()
    {
        var (body, _) = Inspect("""{"params":{"name":"not-a-uri","uri":"file:///a"},"id":"x","jsonrpc":"2.0","method":"resources/read"}""");

        var message = Assert.Single(body!.Messages);
        Assert.Equal("\"x\"", message.RawId);
        Assert.Equal("file:///a", message.ResourceUri);
    }

    [Fact]
    public void Inspect_BatchOfRequestNotificationAndResponse_AllClassified()
    {
        var (body, refusal) = Inspect("""
            [{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"p"}},
             {"jsonrpc":"2.0","method":"notifications/initialized"},
             {"jsonrpc":"2.0","id":"s-1","result":{}}]
            """);

        Assert.Null(refusal);
        Assert.True(body!.IsBatch);
        Assert.Equal([McpMessageKind.Request, McpMessageKind.Notification, McpMessageKind.Response], body.Messages.Select(m => m.Kind));
        Assert.Equal("p", body.Messages[0].Prompt);
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"safe","name":"admin_delete"}}""", -32600, "\"name\" appears twice")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"safe","n\u0061me":"admin_delete"}}""", -32600, "\"name\" appears twice")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"ping","params":{"name":"safe"}}""", -32600, "\"method\" appears twice")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":1,"x":2}}}""", -32600, "\"x\" appears twice")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call" """, -32700, "not valid JSON")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"Tools/Call","params":{"name":"a"}}""", -32600, "case-sensitive")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a b"}}""", -32602, "tool name is not valid")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ẞ"}}""", -32602, "tool name is not valid")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}}""", -32602, "params.name as a string")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}""", -32602, "params.name as a string")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"name":"x"}}""", -32602, "params.uri as a string")]
    [InlineData("""{"jsonrpc":"1.0","id":1,"method":"ping"}""", -32600, "\"jsonrpc\": \"2.0\"")]
    [InlineData("""{"jsonrpc":"2.0","id":null,"method":"ping"}""", -32600, "string or a number")]
    [InlineData("""{"jsonrpc":"2.0","id":1,"method":5}""", -32600, "must be a string")]
    [InlineData("""{"jsonrpc":"2.0","id":1}""", -32600, "needs \"method\"")]
    [InlineData("""[]""", -32600, "empty batch")]
    [InlineData("""[1]""", -32600, "Every element of a batch")]
    [InlineData("\"hello\"", -32600, "a batch (an array)")]
    public void Inspect_Ambiguous_RefusedWithSpecificError(string json, int code, string reason)
    {
        var (body, refusal) = Inspect(json);

        Assert.Null(body);
        Assert.NotNull(refusal);
        Assert.Equal(400, refusal.HttpStatus);
        Assert.Equal(code, refusal.Code);
        Assert.Contains(reason, refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_DuplicateKeysInDifferentObjects_Allowed()
    {
        var (body, refusal) = Inspect("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"name":"b","inner":{"name":"c"}}}}""");

        Assert.Null(refusal);
        Assert.Equal("a", Assert.Single(body!.Messages).Tool);
    }

    [Fact]
    public void Inspect_ManyMembers_NoFalseDuplicate()
    {
        var members = string.Join(",", Enumerable.Range(0, 5000).Select(i => $"\"k{i}\":{i}"));

        var (body, refusal) = Inspect("""{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{""" + members + "}}}");

        Assert.Null(refusal);
        Assert.NotNull(body);
    }
}
