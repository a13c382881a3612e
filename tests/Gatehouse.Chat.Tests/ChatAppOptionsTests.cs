using Microsoft.Extensions.Configuration;

namespace Gatehouse.Chat.Tests;

/// <summary>The chat's settings as an operator writes them (docs/chat.md): <c>Llm:Api</c> picks who calls the MCP servers.</summary>
public sealed class ChatAppOptionsTests
{
    private static ChatAppOptions Read(string? api) => ChatAppOptions.FromConfiguration(new ConfigurationBuilder()
        .AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["PublicUrl"] = "https://gatehouse.example.com/chat/",
            ["Llm:Endpoint"] = "https://api.openai.com/v1",
            ["Llm:Model"] = "gpt-4.1-mini",
            ["Llm:Api"] = api,
        })
        .Build());

    [Theory]
    [InlineData(null, LlmApi.ChatCompletions)]
    [InlineData("chat-completions", LlmApi.ChatCompletions)]
    [InlineData("responses", LlmApi.Responses)]
    [InlineData(" Responses ", LlmApi.Responses)]
    public void FromConfiguration_LlmApi_ChatCompletionsUnlessResponses(string? value, LlmApi expected) =>
        Assert.Equal(expected, Read(value).Llm.Api);

    [Fact]
    public void FromConfiguration_UnknownLlmApi_FailsNamingKeyAndValues()
    {
        var error = Assert.Throws<InvalidOperationException>(() => Read("assistants"));
        Assert.Contains("Chat:Llm:Api", error.Message, StringComparison.Ordinal);
        Assert.Contains("chat-completions or responses", error.Message, StringComparison.Ordinal);
    }
}
