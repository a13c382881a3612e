namespace Gatehouse.Policy;

internal enum PolicyAction
{
    Allow,
    Deny,
}

/// <summary>One <c>allow</c> or <c>deny</c> of a rule, named by its key path (<c>routes[2].policy[0].deny</c>).</summary>
internal sealed record PolicyRule(PolicyAction Action, string Source, PolicyCondition Condition);

/// <summary>
/// One <c>policy</c> node (the top-level one or a route's), compiled when the configuration loads: its rules in file
/// order. <see cref="RoutePolicy"/> evaluates it, alone or with the top-level policy.
/// </summary>
internal sealed class CompiledPolicy
{
    internal CompiledPolicy(IReadOnlyList<PolicyRule> rules)
    {
        Rules = rules;
    }

    public IReadOnlyList<PolicyRule> Rules { get; }
}
