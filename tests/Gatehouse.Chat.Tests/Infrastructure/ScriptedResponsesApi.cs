using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Chat.Tests.Infrastructure;

/// <summary>
/// A scripted OpenAI Responses API on loopback with remote MCP tools, doing what OpenAI does: to
/// <c>POST /v1/responses</c> with <c>stream: true</c> and an <c>mcp</c> tool, it connects to the tool's
/// <c>server_url</c> itself (the MCP C# SDK client, Streamable HTTP) with the tool's authorization, lists the tools,
/// calls <c>query</c> with the sales-by-year SQL and streams the answer built from the result, as Server-Sent Events
/// (<c>response.created</c>, <c>response.output_item.added</c>/<c>done</c> of <c>mcp_list_tools</c>,
/// <c>mcp_call</c> and <c>message</c> items, <c>response.output_text.delta</c>, <c>response.completed</c>;
/// https://platform.openai.com/docs/api-reference/responses-streaming).
/// </summary>
internal sealed class ScriptedResponsesApi : ScriptedApi
{
    /// <summary>The <c>Authorization</c> this provider sent to the MCP servers (the user's TE, from the request's tool).</summary>
    public List<string> McpAuthorizations { get; } = [];

    public static Task<ScriptedResponsesApi> StartAsync() => StartOnAsync(new ScriptedResponsesApi(), "/v1/responses");

    protected override async Task AnswerAsync(HttpContext context, JsonNode request, int number)
    {
        var ct = context.RequestAborted;
        Assert.True(request["stream"]?.GetValue<bool>(), "The app asks for a streamed response.");
        var model = request["model"]!.GetValue<string>();
        var stream = new EventStream(context);
        var response = new JsonObject
        {
            ["id"] = "resp_scripted" + number,
            ["object"] = "response",
            ["created_at"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            ["status"] = "in_progress",
            ["model"] = model,
            ["output"] = new JsonArray(),
            ["parallel_tool_calls"] = true,
            ["tool_choice"] = "auto",
            ["tools"] = new JsonArray(),
            ["error"] = null,
            ["incomplete_details"] = null,
        };
        await stream.SendAsync("response.created", new JsonObject { ["response"] = response.DeepClone() });

        var output = new JsonArray();
        var tool = request["tools"]?.AsArray().FirstOrDefault(t => t?["type"]?.GetValue<string>() == "mcp");
        var answer = tool is null ? "No MCP server was offered." : ScriptedLlm.Answer(await CallQueryAsync(stream, tool, output, ct));

        var message = new JsonObject { ["id"] = "msg_scripted", ["type"] = "message", ["status"] = "in_progress", ["role"] = "assistant", ["content"] = new JsonArray() };
        await stream.ItemAsync("response.output_item.added", output.Count, message);
        foreach (var piece in ScriptedLlm.Pieces(answer))
        {
            await stream.SendAsync("response.output_text.delta", new JsonObject
            {
                ["item_id"] = "msg_scripted", ["output_index"] = output.Count, ["content_index"] = 0, ["delta"] = piece, ["logprobs"] = new JsonArray(),
            });
        }

        message["status"] = "completed";
        message["content"] = new JsonArray(new JsonObject { ["type"] = "output_text", ["text"] = answer, ["annotations"] = new JsonArray() });
        await stream.ItemAsync("response.output_item.done", output.Count, message);
        output.Add(message.DeepClone());

        response["status"] = "completed";
        response["output"] = output;
        await stream.SendAsync("response.completed", new JsonObject { ["response"] = response });
    }

    /// <summary>
    /// Lists the server's tools and calls <c>query</c> over MCP as the request's <c>mcp</c> tool says, reporting both
    /// as output items; returns the tool's text, or its error.
    /// </summary>
    private async Task<string> CallQueryAsync(EventStream stream, JsonNode tool, JsonArray output, CancellationToken ct)
    {
        var label = tool["server_label"]!.GetValue<string>();

        // OpenAI takes the token as "authorization" or among "headers" (either is how a caller hands over its bearer).
        var authorization = tool["authorization"]?.GetValue<string>() is { Length: > 0 } token
            ? "Bearer " + token
            : tool["headers"]?.AsObject().FirstOrDefault(h => h.Key.Equals("Authorization", StringComparison.OrdinalIgnoreCase)).Value?.GetValue<string>() ?? "";
        lock (McpAuthorizations)
        {
            McpAuthorizations.Add(authorization);
        }

        var transport = new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(tool["server_url"]!.GetValue<string>()),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = authorization },
        });
        await using var client = await McpClient.CreateAsync(transport, cancellationToken: ct);

        var list = new JsonObject { ["id"] = "mcpl_scripted", ["type"] = "mcp_list_tools", ["server_label"] = label, ["tools"] = new JsonArray() };
        await stream.ItemAsync("response.output_item.added", output.Count, list);
        var tools = await client.ListToolsAsync(cancellationToken: ct);
        list["tools"] = new JsonArray([.. tools.Select(t => (JsonNode)new JsonObject
        {
            ["name"] = t.Name,
            ["description"] = t.Description,
            ["input_schema"] = JsonNode.Parse(t.JsonSchema.GetRawText()),
            ["annotations"] = null,
        })]);
        await stream.ItemAsync("response.output_item.done", output.Count, list);
        output.Add(list.DeepClone());

        var arguments = JsonSerializer.Serialize(new Dictionary<string, string> { ["sql"] = ScriptedLlm.SalesByYearSql });
        var call = new JsonObject { ["id"] = "mcp_scripted", ["type"] = "mcp_call", ["server_label"] = label, ["name"] = "query", ["arguments"] = "" };
        await stream.ItemAsync("response.output_item.added", output.Count, call);
        call["arguments"] = arguments;
        string text;
        try
        {
            var result = await client.CallToolAsync("query", new Dictionary<string, object?> { ["sql"] = ScriptedLlm.SalesByYearSql }, cancellationToken: ct);
            text = string.Concat(result.Content.OfType<TextContentBlock>().Select(b => b.Text));
            call["output"] = text;
            call["error"] = null;
        }
        catch (McpProtocolException ex)
        {
            // OpenAI reports a server's JSON-RPC error on the item rather than failing the response.
            text = ex.Message;
            call["output"] = null;
            call["error"] = new JsonObject { ["type"] = "mcp_protocol_error", ["code"] = (int)ex.ErrorCode, ["message"] = ex.Message };
        }

        await stream.ItemAsync("response.output_item.done", output.Count, call);
        output.Add(call.DeepClone());
        return text;
    }

    /// <summary>Server-Sent Events with the Responses API's <c>type</c> and <c>sequence_number</c> on every event.</summary>
    private sealed class EventStream(HttpContext context)
    {
        private int _sequence;

        public Task ItemAsync(string type, int outputIndex, JsonObject item) =>
            SendAsync(type, new JsonObject { ["output_index"] = outputIndex, ["item"] = item.DeepClone() });

        public async Task SendAsync(string type, JsonObject data)
        {
            if (_sequence == 0)
            {
                context.Response.ContentType = "text/event-stream";
            }

            data["type"] = type;
            data["sequence_number"] = _sequence++;
            await context.Response.WriteAsync($"event: {type}\ndata: {data.ToJsonString()}\n\n", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }
    }
}
