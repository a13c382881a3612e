using Gatehouse.Policy;

namespace Gatehouse.Tests.Policy;

/// <summary>The policy table: every case in cases/*.yaml, one row each.</summary>
public sealed class PolicyTableTests
{
    public static TheoryData<string> Cases => [.. PolicyCase.All.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Evaluate_Case_GivesTheExpectedDecision(string id)
    {
        var @case = PolicyCase.All[id];

        var decision = @case.Compile().Evaluate(@case.Request);

        Assert.True(@case.Allowed == decision.Allowed, $"expected {(@case.Allowed ? "allowed" : "denied")}, got {decision}");
        if (@case.Rule is not null)
        {
            Assert.Equal(@case.Rule, decision.Rule);
        }
    }

    [Fact]
    public void Create_NoPolicyAtAll_IsUnrestrictedAndAllowsAnySignedInUser()
    {
        var policy = RoutePolicy.Create(null, null);

        Assert.True(policy.IsUnrestricted);
        Assert.Equal(new PolicyDecision(true, "no policy: any signed-in user"), policy.Evaluate(new PolicyRequest(null, "POST", "/mcp", null, null, null, null)));
    }

    [Fact]
    public void Create_EitherPolicy_IsRestricted()
    {
        var policy = PolicyCompiler.Compile("allow: {and: [{accept: true}]}");

        Assert.False(RoutePolicy.Create(policy, null).IsUnrestricted);
        Assert.False(RoutePolicy.Create(null, policy).IsUnrestricted);
    }
}
