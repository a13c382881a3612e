namespace Gatehouse.Chat;

/// <summary>
/// Where Gatehouse Chat is served and which LLM it talks to. Built by <see cref="Program"/> from configuration, or by
/// a host that embeds the app (<c>gatehouse demo</c>, the tests).
/// </summary>
public sealed record ChatAppOptions
{
    /// <summary>Where Kestrel listens: loopback, since only the gateway should reach the app. Port 0 picks a free one.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:5090";

    /// <summary>
    /// The URL at which users open the chat through Gatehouse: the client route's <c>from</c> plus its <c>prefix</c>,
    /// such as <c>https://gatehouse.example.com/chat</c>. It fixes the issuer and audience that identity assertions
    /// must carry (docs/authorization.md, "The identity assertion"), where the gateway's JWKS and routes API are
    /// (its origin), and the app's path base (its path: the gateway forwards the prefix unchanged).
    /// </summary>
    public required Uri PublicUrl { get; init; }

    /// <summary>The header the gateway puts the identity assertion in (<c>jwt_assertion_header</c> in its configuration).</summary>
    public string AssertionHeader { get; init; } = "X-Gatehouse-Jwt-Assertion";

    public LlmOptions Llm { get; init; } = new();

    /// <summary>
    /// The SQLite file that keeps each user's conversations. Null: conversations live only as long as the page.
    /// </summary>
    public string? DatabasePath { get; init; }

    /// <summary>Reads <c>PublicUrl</c>, <c>Urls</c>, <c>AssertionHeader</c> and <c>Llm:Endpoint|ApiKey|Models|Api</c>.</summary>
    public static ChatAppOptions FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var publicUrl = configuration["PublicUrl"] ?? throw new InvalidOperationException(
            "PublicUrl is required: the URL at which Gatehouse serves the chat's client route, such as https://gatehouse.example.com/chat (GATEHOUSE_CHAT_PUBLICURL).");
        var endpoint = configuration["Llm:Endpoint"];
        return new ChatAppOptions
        {
            PublicUrl = new Uri(publicUrl, UriKind.RelativeOrAbsolute),
            Urls = configuration["Urls"] ?? "http://127.0.0.1:5090",
            AssertionHeader = configuration["AssertionHeader"] ?? "X-Gatehouse-Jwt-Assertion",
            DatabasePath = configuration["DatabasePath"],
            Llm = new LlmOptions
            {
                Endpoint = string.IsNullOrEmpty(endpoint) ? null : new Uri(endpoint, UriKind.RelativeOrAbsolute),
                ApiKey = configuration["Llm:ApiKey"],
                Api = LlmOptions.ParseApi(configuration["Llm:Api"]),
                Models = configuration.GetSection("Llm:Models").GetChildren().Select(c => c.Value).OfType<string>()
                    .Concat((configuration["Llm:Model"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    .ToList(),
            },
        };
    }

    internal string PathBase => PublicUrl.AbsolutePath.TrimEnd('/');

    internal Uri GatewayOrigin => new(PublicUrl.GetLeftPart(UriPartial.Authority) + "/");

    /// <summary>Fails fast with the key to fix, as the gateway does for its own configuration.</summary>
    internal void Validate()
    {
        if (!PublicUrl.IsAbsoluteUri || (PublicUrl.Scheme != Uri.UriSchemeHttps && PublicUrl.Scheme != Uri.UriSchemeHttp))
        {
            throw new InvalidOperationException($"Chat:PublicUrl must be an absolute http(s) URL, such as https://gatehouse.example.com/chat; got '{PublicUrl}'.");
        }

        if (Llm.Endpoint is { IsAbsoluteUri: false })
        {
            throw new InvalidOperationException("Chat:Llm:Endpoint must be an absolute URL, such as https://api.openai.com/v1 or http://127.0.0.1:11434/v1.");
        }

        if (Llm.Endpoint is not null && Llm.Models.Count == 0)
        {
            throw new InvalidOperationException("Chat:Llm:Models must name at least one model when Chat:Llm:Endpoint is set, such as gpt-4.1-mini.");
        }
    }
}

/// <summary>Which OpenAI API the app speaks to the endpoint, and so who calls the MCP servers (docs/chat.md).</summary>
public enum LlmApi
{
    /// <summary>Chat Completions: the app offers the tools as functions and runs the calls itself, through the gateway.</summary>
    ChatCompletions,

    /// <summary>
    /// OpenAI's Responses API with remote MCP tools: the provider calls Gatehouse's public MCP URLs itself, with the
    /// user's TE as bearer token. Only for a gateway reachable from the provider.
    /// </summary>
    Responses,
}

/// <summary>An OpenAI-compatible endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp, LM Studio).</summary>
public sealed record LlmOptions
{
    /// <summary>The API spoken to <see cref="Endpoint"/>: Chat Completions unless set to Responses.</summary>
    public LlmApi Api { get; init; } = LlmApi.ChatCompletions;

    /// <summary>The API's base URL, ending where <c>/chat/completions</c> is appended (<c>https://api.openai.com/v1</c>). Null: no LLM.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>Sent as <c>Authorization: Bearer</c> to the endpoint. Never logged and never shown in the page.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The models offered in the model picker; the first is the default.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    internal bool IsConfigured => Endpoint is not null && Models.Count > 0;

    /// <summary>Reads <c>Llm:Api</c>: <c>chat-completions</c> (the default) or <c>responses</c>.</summary>
    internal static LlmApi ParseApi(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" or "chat-completions" => LlmApi.ChatCompletions,
        "responses" => LlmApi.Responses,
        _ => throw new InvalidOperationException($"Chat:Llm:Api must be chat-completions or responses; got '{value}'."),
    };
}
