using Gatehouse.ResourceServer;

namespace Gatehouse.Policy;

/// <summary>
/// What a rule can look at for one request or one JSON-RPC message. A struct of references to strings that already
/// exist (the user, the request line, the parsed message), so building one allocates nothing.
/// </summary>
/// <param name="User">The authenticated caller; null only where no credential was required.</param>
/// <param name="HttpMethod">The request's method, as sent (<c>POST</c>).</param>
/// <param name="HttpPath">The request's path, as sent (<c>/sales/mcp</c>).</param>
/// <param name="McpMethod">The JSON-RPC method of the message (<c>tools/call</c>), null when the request carries none.</param>
/// <param name="McpTool">The <c>params.name</c> of a <c>tools/call</c>.</param>
/// <param name="McpPrompt">The <c>params.name</c> of a <c>prompts/get</c>.</param>
/// <param name="McpResource">The <c>params.uri</c> of a <c>resources/read</c>, <c>resources/subscribe</c> or <c>resources/unsubscribe</c>.</param>
internal readonly record struct PolicyRequest(
    GatewayUser? User, string HttpMethod, string HttpPath,
    string? McpMethod, string? McpTool, string? McpPrompt, string? McpResource);

/// <summary>The outcome of a policy for one request, and the rule it came from (for the audit log and for errors).</summary>
/// <param name="Allowed">Whether the request may proceed.</param>
/// <param name="Rule">
/// Where the decision came from: the key path of the deciding rule (<c>routes[2].policy[0].deny</c>,
/// <c>policy[1].allow</c>), <see cref="NoAllowRuleMatched"/> or <see cref="NoPolicy"/>.
/// </param>
internal readonly record struct PolicyDecision(bool Allowed, string Rule)
{
    public const string NoAllowRuleMatched = "no allow rule matched";
    public const string NoPolicy = "no policy: any signed-in user";
}
