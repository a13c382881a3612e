using System.Text;
using System.Text.Json;
using Gatehouse.Mcp;

namespace Gatehouse.Tests.Mcp;

public sealed class McpResponseRewriterTests
{
    private static McpResponseWatch Watch(params string[] hidden) => new() { IsVisible = (_, name) => !hidden.Contains(name) };

    [Fact]
    public void Process_ToolsListResult_HiddenToolsRemovedOtherMembersKept()
    {
        var watch = Watch("admin_delete");
        watch.FilterListing("1", McpMethods.ToolsList);
        watch.WatchOutcome("1");

        var rewritten = McpResponseRewriter.Process("""{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"query","inputSchema":{}},{"name":"admin_delete"},{"title":"no name"}],"nextCursor":"c2"}}"""u8, watch);

        using var json = JsonDocument.Parse(rewritten!);
        var result = json.RootElement.GetProperty("result");
        Assert.Equal(["query"], result.GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal("c2", result.GetProperty("nextCursor").GetString());
        Assert.Equal(0, watch.OutcomeOf("1"));
    }

    [Theory]
    [InlineData(McpMethods.PromptsList, """{"prompts":[{"name":"ok"},{"name":"secret"}]}""", "prompts", "name")]
    [InlineData(McpMethods.ResourcesList, """{"resources":[{"uri":"ok"},{"uri":"secret"}]}""", "resources", "uri")]
    [InlineData(McpMethods.ResourceTemplatesList, """{"resourceTemplates":[{"uriTemplate":"ok"},{"uriTemplate":"secret"}]}""", "resourceTemplates", "uriTemplate")]
    public void Process_OtherListings_FilteredByTheirNamingMember(string method, string result, string array, string member)
    {
        var watch = Watch("secret");
        watch.FilterListing("\"a\"", method);

        var rewritten = McpResponseRewriter.Process(Encoding.UTF8.GetBytes($$"""{"jsonrpc":"2.0","id":"a","result":{{result}}}"""), watch);

        using var json = JsonDocument.Parse(rewritten!);
        Assert.Equal(["ok"], json.RootElement.GetProperty("result").GetProperty(array).EnumerateArray().Select(t => t.GetProperty(member).GetString()));
    }

    [Fact]
    public void Process_UnwatchedOrNotification_PassesUnchanged()
    {
        var watch = Watch("x");
        watch.FilterListing("1", McpMethods.ToolsList);

        Assert.Null(McpResponseRewriter.Process("""{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"x"}]}}"""u8, watch));
        Assert.Null(McpResponseRewriter.Process("""{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"""u8, watch));
        Assert.Null(McpResponseRewriter.Process("not json"u8, watch));
    }

    [Fact]
    public void Process_ErrorAnswer_OutcomeIsItsCode()
    {
        var watch = Watch();
        watch.WatchOutcome("5");

        Assert.Null(McpResponseRewriter.Process("""{"jsonrpc":"2.0","id":5,"error":{"code":-32602,"message":"bad"}}"""u8, watch));
        Assert.Equal(-32602, watch.OutcomeOf("5"));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"\"error\": no"}]}}""", "5", 0)]
    [InlineData("""{"id":5,"jsonrpc":"2.0","error":{"message":"bad","code":-32602,"data":{"code":1}}}""", "5", -32602)]
    [InlineData("""{"jsonrpc":"2.0","id":5,"error":{"code":"not a number"}}""", "5", -32603)]
    [InlineData("""{"jsonrpc":"2.0","id":5,"error":"text"}""", "5", -32603)]
    [InlineData("""{"jsonrpc":"2.0","id":"a\u0062","result":{}}""", "\"a\\u0062\"", 0)]
    [InlineData("""[{"jsonrpc":"2.0","id":4,"result":{}},{"jsonrpc":"2.0","id":5,"error":{"code":-32001}}]""", "5", -32001)]
    public void Process_OutcomeOnlyWatch_OutcomeReadWithoutRewriting(string answer, string rawId, int expected)
    {
        var watch = Watch();
        watch.WatchOutcome(rawId);

        Assert.Null(McpResponseRewriter.Process(Encoding.UTF8.GetBytes(answer), watch));
        Assert.Equal(expected, watch.OutcomeOf(rawId));
    }

    [Theory]
    [InlineData("""{"jsonrpc":"2.0","id":5,"method":"sampling/createMessage","params":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":6,"result":{}}""")]
    [InlineData("""{"jsonrpc":"2.0","id":5,"result":""")]
    [InlineData("not json")]
    public void Process_OutcomeOnlyWatch_ServerRequestOtherIdOrBrokenJson_NoOutcome(string answer)
    {
        var watch = Watch();
        watch.WatchOutcome("5");

        Assert.Null(McpResponseRewriter.Process(Encoding.UTF8.GetBytes(answer), watch));
        Assert.Null(watch.OutcomeOf("5"));
    }

    [Fact]
    public void Process_BatchAnswer_OnlyTheListingFiltered()
    {
        var watch = Watch("hidden");
        watch.FilterListing("1", McpMethods.ToolsList);

        var rewritten = McpResponseRewriter.Process("""[{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"hidden"},{"name":"shown"}]}},{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"hidden"}]}}]"""u8, watch);

        using var json = JsonDocument.Parse(rewritten!);
        Assert.Equal(["shown"], json.RootElement[0].GetProperty("result").GetProperty("tools").EnumerateArray().Select(t => t.GetProperty("name").GetString()));
        Assert.Equal("hidden", json.RootElement[1].GetProperty("result").GetProperty("tools")[0].GetProperty("name").GetString());
    }

    [Fact]
    public void Splitter_EventsAcrossChunksWithEveryLineEnding_WholeEventsInOrder()
    {
        var splitter = new ServerSentEventSplitter();
        var stream = "event: message\ndata: {\"a\":1}\n\n: comment\r\ndata: {\"b\":2}\r\n\r\ndata: {\"c\":3}\r\rdata: partial";
        var events = new List<string>();
        foreach (var chunk in stream.Chunk(3))
        {
            splitter.Append(Encoding.UTF8.GetBytes(chunk));
            while (splitter.TryTakeEvent(out var rawEvent))
            {
                events.Add(Encoding.UTF8.GetString(rawEvent.Span));
            }
        }

        Assert.Equal(["event: message\ndata: {\"a\":1}\n\n", ": comment\r\ndata: {\"b\":2}\r\n\r\n", "data: {\"c\":3}\r\r"], events);
        Assert.Equal("data: partial", Encoding.UTF8.GetString(splitter.TakeRemainder().Span));
    }

    [Fact]
    public void Parse_MultiLineData_JoinedWithLineFeedOtherLinesKept()
    {
        var (data, others) = ServerSentEventSplitter.Parse("id: 7\nevent: message\ndata: {\"a\":\ndata:1}\n\n"u8.ToArray());

        Assert.Equal("{\"a\":\n1}", Encoding.UTF8.GetString(data!.Value.Span));
        Assert.Equal(["id: 7", "event: message"], others.Select(l => Encoding.UTF8.GetString(l.Span)));
    }
}
