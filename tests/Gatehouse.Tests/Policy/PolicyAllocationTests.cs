using Gatehouse.Policy;
using Gatehouse.ResourceServer;

namespace Gatehouse.Tests.Policy;

/// <summary>
/// A policy is evaluated for every proxied MCP message, so evaluating one must not allocate. Allocation counts are
/// deterministic (unlike time), so the test asserts that the thread's allocated bytes do not move at all.
/// </summary>
public sealed class PolicyAllocationTests
{
    [Fact]
    public void Evaluate_RealisticPolicyManyTimes_AllocatesNothing()
    {
        var global = PolicyCompiler.Compile("""
            deny:
              or:
                - groups: contractors
                - claim/email_verified: {not: "true"}
                - domain: {not_in: [example.com, example.org]}
            """);
        var route = PolicyCompiler.Compile("""
            - allow:
                and:
                  - groups: {in: [sales, finance]}
                  - or:
                      - mcp_tool: {in: [query, list_tables, describe_table]}
                      - not: [{mcp_method: tools/call}]
            - deny:
                or:
                  - mcp_tool: {starts_with: admin_}
                  - mcp_tool: {contains: drop}
                  - mcp_resource: {starts_with: 'file:///secret/'}
                  - mcp_prompt: {ends_with: _internal}
                  - and:
                      - http_method: DELETE
                      - email: {not: Alice@Example.com}
            """, "routes[0].policy");
        var policy = RoutePolicy.Create(global, route);
        var claims = GatewayUser.ClaimsFrom([new("email_verified", "true"), new("roles", "reader"), new("roles", "writer")]);
        var alice = PolicyTestRequests.User("alice@EXAMPLE.com", ["engineering", "sales"], claims);
        PolicyRequest[] requests =
        [
            PolicyTestRequests.Message(alice, "initialize"),
            PolicyTestRequests.Message(alice, "tools/list"),
            PolicyTestRequests.Message(alice, "tools/call", tool: "query"),
            PolicyTestRequests.Message(alice, "tools/call", tool: "admin_reset"),
            PolicyTestRequests.Message(alice, "tools/call", tool: "write_orders"),
            PolicyTestRequests.Message(alice, "resources/read", resource: "file:///reports/q3.csv"),
            PolicyTestRequests.Message(alice, "resources/read", resource: "file:///secret/keys"),
            PolicyTestRequests.Message(alice, "prompts/get", prompt: "summarise"),
            new(alice, "GET", "/sales", null, null, null, null),
            new(alice, "DELETE", "/sales", null, null, null, null),
        ];
        bool[] expected = [true, true, true, false, false, true, false, true, true, true];
        for (var i = 0; i < requests.Length; i++)
        {
            Assert.True(expected[i] == policy.Evaluate(requests[i]).Allowed, $"request {i}: {policy.Evaluate(requests[i])}");
        }

        Run(policy, requests, 1_000); // JIT, tiering and static initialisation happen here, not below
        var before = GC.GetAllocatedBytesForCurrentThread();
        var allowed = Run(policy, requests, 50_000);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Equal(50_000 * expected.Count(e => e), allowed);
    }

    private static int Run(RoutePolicy policy, PolicyRequest[] requests, int rounds)
    {
        var allowed = 0;
        for (var round = 0; round < rounds; round++)
        {
            foreach (ref readonly var request in requests.AsSpan())
            {
                if (policy.Evaluate(in request).Allowed)
                {
                    allowed++;
                }
            }
        }

        return allowed;
    }
}
