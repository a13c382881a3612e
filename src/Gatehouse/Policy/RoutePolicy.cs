namespace Gatehouse.Policy;

/// <summary>
/// Everything that decides who may use one route: the top-level policy and the route's, evaluated as one set of
/// rules. Pomerium's rule: access when at least one <c>allow</c> matches and no <c>deny</c> does, whichever of the
/// two policies each comes from; nothing matching means no access. Without either policy the route is unrestricted:
/// every authenticated caller may use it.
/// </summary>
internal sealed class RoutePolicy
{
    private static readonly RoutePolicy s_unrestricted = new([], []);

    private readonly PolicyRule[] _deny;
    private readonly PolicyRule[] _allow;

    private RoutePolicy(PolicyRule[] deny, PolicyRule[] allow)
    {
        _deny = deny;
        _allow = allow;
    }

    /// <summary>True when neither policy exists: every authenticated caller is allowed.</summary>
    public bool IsUnrestricted => ReferenceEquals(this, s_unrestricted);

    public static RoutePolicy Create(CompiledPolicy? global, CompiledPolicy? route)
    {
        if (global is null && route is null)
        {
            return s_unrestricted;
        }

        // The top-level policy's rules first, so that a decision names them when both would decide alike.
        IEnumerable<PolicyRule> rules = [.. global?.Rules ?? [], .. route?.Rules ?? []];
        return new RoutePolicy(
            [.. rules.Where(r => r.Action == PolicyAction.Deny)],
            [.. rules.Where(r => r.Action == PolicyAction.Allow)]);
    }

    public PolicyDecision Evaluate(in PolicyRequest request)
    {
        if (IsUnrestricted)
        {
            return new PolicyDecision(true, PolicyDecision.NoPolicy);
        }

        foreach (var rule in _deny)
        {
            if (rule.Condition.Matches(in request))
            {
                return new PolicyDecision(false, rule.Source);
            }
        }

        foreach (var rule in _allow)
        {
            if (rule.Condition.Matches(in request))
            {
                return new PolicyDecision(true, rule.Source);
            }
        }

        return new PolicyDecision(false, PolicyDecision.NoAllowRuleMatched);
    }
}
