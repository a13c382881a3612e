namespace Gatehouse.Policy;

/// <summary>
/// One compiled condition of a rule: a logical operator over conditions, or a criterion with its matcher. Evaluated
/// for every proxied MCP message, so no implementation allocates, captures or enumerates through an interface.
/// </summary>
internal abstract class PolicyCondition
{
    public abstract bool Matches(in PolicyRequest request);
}

internal enum LogicalOperator
{
    /// <summary>Every operand matches.</summary>
    And,

    /// <summary>At least one operand matches.</summary>
    Or,

    /// <summary>No operand matches: ¬A ∧ ¬B. Pomerium's meaning of <c>not</c>, kept so its policies carry over.</summary>
    Not,

    /// <summary>At least one operand does not match: ¬A ∨ ¬B. Pomerium's meaning of <c>nor</c> (a NAND, despite the name).</summary>
    Nor,
}

internal sealed class OperatorCondition(LogicalOperator op, PolicyCondition[] operands) : PolicyCondition
{
    public override bool Matches(in PolicyRequest request)
    {
        // And and Nor stop at the first operand that does not match, Or and Not at the first that does.
        var stopWhen = op is LogicalOperator.Or or LogicalOperator.Not;
        foreach (var operand in operands)
        {
            if (operand.Matches(in request) == stopWhen)
            {
                return op is LogicalOperator.Or or LogicalOperator.Nor;
            }
        }

        return op is LogicalOperator.And or LogicalOperator.Not;
    }
}

/// <summary><c>accept</c> (always) and <c>authenticated_user</c> (whenever there is a caller).</summary>
internal sealed class ConstantCondition(bool requiresUser) : PolicyCondition
{
    public override bool Matches(in PolicyRequest request) => !requiresUser || request.User is not null;
}

/// <summary>The single-valued things a criterion can look at.</summary>
internal enum RequestValue
{
    Email,
    Domain,
    User,
    ClientId,
    HttpMethod,
    HttpPath,
    McpMethod,
    McpTool,
    McpPrompt,
    McpResource,
}

/// <summary>
/// A criterion on one value of the request. A value that is absent (no caller, no OAuth client, not an MCP message,
/// an MCP criterion on another method) matches nothing, whichever the matcher: <c>mcp_tool: {not: x}</c> is false
/// for <c>tools/list</c>, never true.
/// </summary>
internal sealed class ValueCondition(RequestValue value, StringMatcher matcher) : PolicyCondition
{
    public override bool Matches(in PolicyRequest request)
    {
        if (value == RequestValue.Domain)
        {
            // The part after the last @ (a quoted local part may itself hold one, RFC 5321 §4.1.2).
            var email = request.User?.Email;
            var at = email?.LastIndexOf('@') ?? -1;
            return at >= 0 && at < email!.Length - 1 && matcher.Matches(email.AsSpan(at + 1));
        }

        return Read(in request, value) is { } text && matcher.Matches(text);
    }

    private static string? Read(in PolicyRequest request, RequestValue value) => value switch
    {
        RequestValue.Email => request.User?.Email,
        RequestValue.User => request.User?.Subject,
        RequestValue.ClientId => request.User?.ClientId,
        RequestValue.HttpMethod => request.HttpMethod,
        RequestValue.HttpPath => request.HttpPath,
        RequestValue.McpMethod => request.McpMethod,
        // Each MCP criterion looks only at the method that names what it matches (string patterns compare ordinally).
        RequestValue.McpTool => request.McpMethod is "tools/call" ? request.McpTool : null,
        RequestValue.McpPrompt => request.McpMethod is "prompts/get" ? request.McpPrompt : null,
        RequestValue.McpResource => request.McpMethod is "resources/read" or "resources/subscribe" or "resources/unsubscribe" ? request.McpResource : null,
        _ => null,
    };
}

/// <summary>
/// <c>groups</c> and <c>claim/&lt;name&gt;</c>: criteria on a list of values. Without a caller nothing matches; a claim
/// the caller does not have is an empty list (so <c>not</c> and <c>not_in</c> match it, and nothing else does).
/// </summary>
internal sealed class ListCondition(string? claim, StringMatcher matcher) : PolicyCondition
{
    public override bool Matches(in PolicyRequest request)
    {
        if (request.User is not { } user)
        {
            return false;
        }

        if (claim is null)
        {
            return matcher.MatchesList(user.Groups);
        }

        return matcher.MatchesList(user.Claims.TryGetValue(claim, out var values) ? values : []);
    }
}
