using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;

namespace Gatehouse.Chat.Llm;

/// <summary>
/// The LLM through Microsoft.Extensions.AI over the OpenAI SDK. With Chat Completions, function invocation runs the
/// MCP tools the user picked (each an AIFunction calling through the gateway as the user) and feeds results back;
/// with the Responses API the provider runs them itself (<see cref="HostedTools"/>).
/// </summary>
internal sealed class LlmClients(LlmOptions options)
{
    private readonly OpenAIClient? _client = options.IsConfigured
        ? new OpenAIClient(new ApiKeyCredential(string.IsNullOrEmpty(options.ApiKey) ? "none" : options.ApiKey), new OpenAIClientOptions { Endpoint = options.Endpoint })
        : null;

    public bool IsConfigured => _client is not null;

    public IReadOnlyList<string> Models => options.Models;

    /// <summary>Whether the provider calls the MCP servers itself (Responses API remote MCP tools).</summary>
    public bool ProviderCallsTools => options.Api == LlmApi.Responses;

    /// <summary>A chat client for <paramref name="model"/>, or null when no LLM is configured.</summary>
    public IChatClient? Create(string model) => _client switch
    {
        null => null,

        // The provider runs the MCP calls and reports them as mcp_call items: there is nothing to invoke here.
        // OPENAI001: the SDK marks its Responses client as evaluation-only; it is the API this setting asks for.
#pragma warning disable OPENAI001
        _ when ProviderCallsTools => _client.GetResponsesClient().AsIChatClient(model),
#pragma warning restore OPENAI001

        // Detailed errors: a policy denial's message (JSON-RPC -32054 from the gateway) reaches the model, which can
        // then tell the user why instead of retrying blindly. Messages from the gateway hold no secrets.
        _ => _client.GetChatClient(model).AsIChatClient().AsBuilder()
            .UseFunctionInvocation(configure: f => f.IncludeDetailedErrors = true)
            .Build(),
    };

    /// <summary>
    /// The chosen servers as remote MCP tools of the Responses API
    /// (https://platform.openai.com/docs/guides/tools-connectors-mcp): the provider connects to each server's public
    /// URL on Gatehouse with <paramref name="te"/> as bearer token (RFC 6750 §2.1), so the gateway sees the user, applies
    /// the route's policy and audits every call as from this app. The TE leaves this process here, to the provider
    /// only: it is valid for five minutes and only for the user's MCP routes (docs/chat.md, "Security model").
    /// </summary>
    public static List<AITool> HostedTools(IEnumerable<Gateway.McpServerEntry> servers, string te) =>
    [
        .. servers.Select(server => new HostedMcpServerTool(server.Name, new Uri(server.Url))
        {
            ServerDescription = server.Description,

            // The user chose these servers for this conversation; asking again for every call would need a round trip
            // through the page for each approval, and the gateway's policy judges every call anyway.
            ApprovalMode = HostedMcpServerToolApprovalMode.NeverRequire,
            Headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase) { ["Authorization"] = "Bearer " + te },
        }),
    ];
}

internal static class LlmExtensions
{
    public static IServiceCollection AddLlm(this IServiceCollection services, LlmOptions options) =>
        services.AddSingleton(new LlmClients(options));
}
