using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Chat.Tests.Infrastructure;

/// <summary>
/// A scripted LLM on loopback that speaks the real OpenAI Chat Completions streaming protocol (Server-Sent Events of
/// <c>chat.completion.chunk</c> objects, then <c>data: [DONE]</c>). To a new user message it answers with a call of
/// Northwind's <c>query</c> tool; to a tool result it answers with text built from that result: a Markdown table of
/// the rows, or the error.
/// </summary>
internal sealed class ScriptedLlm : ScriptedApi
{
    public const string SalesByYearSql =
        "SELECT strftime('%Y', o.order_date) AS year, ROUND(SUM(d.unit_price * d.quantity * (1 - d.discount)), 2) AS sales " +
        "FROM orders o JOIN order_details d ON d.order_id = o.order_id GROUP BY year ORDER BY year";

    public static Task<ScriptedLlm> StartAsync() => StartOnAsync(new ScriptedLlm(), "/v1/chat/completions");

    protected override async Task AnswerAsync(HttpContext context, JsonNode request, int number)
    {
        var last = request["messages"]!.AsArray().Last()!;
        var model = request["model"]!.GetValue<string>();
        context.Response.ContentType = "text/event-stream";
        if (last["role"]!.GetValue<string>() == "user" && Content(last).Contains(SlowWord, StringComparison.Ordinal))
        {
            await AnswerSlowlyAsync(context, model);
            return;
        }

        if (last["role"]!.GetValue<string>() == "tool")
        {
            var answer = Answer(Content(last));
            foreach (var piece in Pieces(answer))
            {
                await SendAsync(context, Chunk(model, new JsonObject { ["content"] = piece }, null));
            }

            await SendAsync(context, Chunk(model, new JsonObject(), "stop"));
        }
        else
        {
            var call = new JsonObject
            {
                ["index"] = 0,
                ["id"] = "call_" + number,
                ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = "query", ["arguments"] = "" },
            };
            await SendAsync(context, Chunk(model, new JsonObject { ["role"] = "assistant", ["content"] = null, ["tool_calls"] = new JsonArray(call) }, null));

            // Arguments arrive in fragments, as real models stream them.
            var arguments = JsonSerializer.Serialize(new Dictionary<string, string> { ["sql"] = SalesByYearSql });
            foreach (var piece in Pieces(arguments))
            {
                var fragment = new JsonObject { ["index"] = 0, ["function"] = new JsonObject { ["arguments"] = piece } };
                await SendAsync(context, Chunk(model, new JsonObject { ["tool_calls"] = new JsonArray(fragment) }, null));
            }

            await SendAsync(context, Chunk(model, new JsonObject(), "tool_calls"));
        }

        await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
    }

    /// <summary>A question with this word gets a long answer, a word every 200 ms (bounded: 30 s), to be stopped.</summary>
    public const string SlowWord = "slowly";

    /// <summary>Completed when the app closed a slow answer's stream before its end (the user pressed Stop).</summary>
    public TaskCompletionSource SlowAnswerAborted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task AnswerSlowlyAsync(HttpContext context, string model)
    {
        try
        {
            for (var i = 0; i < 150; i++)
            {
                await SendAsync(context, Chunk(model, new JsonObject { ["content"] = $"word{i} " }, null));
                await Task.Delay(200, context.RequestAborted);
            }

            await SendAsync(context, Chunk(model, new JsonObject(), "stop"));
            await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            SlowAnswerAborted.TrySetResult();
        }
    }

    /// <summary>A tool message's content: a string, or (OpenAI's other form) an array of text parts.</summary>
    private static string Content(JsonNode message) => message["content"] switch
    {
        JsonValue value => value.GetValue<string>(),
        JsonArray parts => string.Concat(parts.Select(p => p?["text"]?.GetValue<string>())),
        _ => "",
    };

    /// <summary>The final answer: a table of Northwind's <c>{"columns", "rows"}</c>, or the error the tool returned.</summary>
    internal static string Answer(string toolContent)
    {
        var text = toolContent;
        try
        {
            // Microsoft.Extensions.AI serializes the tool's result: one text block is {"$type":"text","text":"..."}.
            if (JsonNode.Parse(toolContent) is JsonObject { } result && result["text"] is JsonValue inner)
            {
                text = inner.GetValue<string>();
            }

            if (JsonNode.Parse(text) is JsonObject table && table["columns"] is JsonArray columns && table["rows"] is JsonArray rows)
            {
                var markdown = new StringBuilder("Here are our sales by year:\n\n");
                markdown.Append("| ").AppendJoin(" | ", columns.Select(c => c!.ToString())).Append(" |\n");
                markdown.Append("| ").AppendJoin(" | ", columns.Select(_ => "---")).Append(" |\n");
                foreach (var row in rows)
                {
                    markdown.Append("| ").AppendJoin(" | ", row!.AsArray().Select(v => v?.ToString())).Append(" |\n");
                }

                return markdown.Append("\n**Total rows:** ").Append(rows.Count).ToString();
            }
        }
        catch (JsonException)
        {
        }

        return "I could not run the query. The tool said: " + text;
    }

    internal static IEnumerable<string> Pieces(string text)
    {
        for (var i = 0; i < text.Length; i += 24)
        {
            yield return text.Substring(i, Math.Min(24, text.Length - i));
        }
    }

    private static JsonObject Chunk(string model, JsonObject delta, string? finishReason) => new()
    {
        ["id"] = "chatcmpl-scripted",
        ["object"] = "chat.completion.chunk",
        ["created"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        ["model"] = model,
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finishReason }),
    };

    private static async Task SendAsync(HttpContext context, JsonObject chunk)
    {
        await context.Response.WriteAsync("data: " + chunk.ToJsonString() + "\n\n", context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }
}
