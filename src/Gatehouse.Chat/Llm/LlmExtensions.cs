using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;

namespace Gatehouse.Chat.Llm;

/// <summary>
/// The LLM: any OpenAI-compatible Chat Completions endpoint through Microsoft.Extensions.AI. Function invocation runs
/// the MCP tools the user picked (each an AIFunction calling through the gateway as the user) and feeds results back.
/// </summary>
internal sealed class LlmClients(LlmOptions options)
{
    private readonly OpenAIClient? _client = options.IsConfigured
        ? new OpenAIClient(new ApiKeyCredential(string.IsNullOrEmpty(options.ApiKey) ? "none" : options.ApiKey), new OpenAIClientOptions { Endpoint = options.Endpoint })
        : null;

    public bool IsConfigured => _client is not null;

    public IReadOnlyList<string> Models => options.Models;

    /// <summary>A chat client for <paramref name="model"/>, or null when no LLM is configured.</summary>
    public IChatClient? Create(string model) =>
        _client?.GetChatClient(model).AsIChatClient().AsBuilder()

            // Detailed errors: a policy denial's message (JSON-RPC -32054 from the gateway) reaches the model, which can
            // then tell the user why instead of retrying blindly. Messages from the gateway hold no secrets.
            .UseFunctionInvocation(configure: f => f.IncludeDetailedErrors = true)
            .Build();
}

internal static class LlmExtensions
{
    public static IServiceCollection AddLlm(this IServiceCollection services, LlmOptions options) =>
        services.AddSingleton(new LlmClients(options));
}
