using Gatehouse.Configuration;
using Gatehouse.Policy;

namespace Gatehouse.Tests.Policy;

/// <summary>
/// Each way a policy can be wrong, read through the configuration reader as an operator's file would be: the error
/// names the key path, the line and the column, and says what to write.
/// </summary>
public sealed class PolicyCompileErrorTests
{
    private const string Route = """
        routes:
          - from: https://mcp.example.com
            prefix: /sales
            to: http://127.0.0.1:5081
            mcp:
              server: {}
        """;

    /// <summary>Reads <paramref name="policy"/> as the top-level policy: its line 1 is the file's line 2, indented by 2.</summary>
    private static IReadOnlyList<ConfigError> TopLevelErrors(string policy, Func<string, string?>? env = null)
    {
        var indented = string.Join("\n", policy.ReplaceLineEndings("\n").Split('\n').Select(line => "  " + line));
        return Assert.Throws<ConfigException>(() => new YamlConfigReader(env ?? (_ => null)).Read("policy:\n" + indented + "\n" + Route, "test.yaml")).Errors;
    }

    [Theory]
    // Criteria
    [InlineData("allow:\n  and:\n    - mcp_tools: query", "policy.allow.and[0].mcp_tools", 3, 7, "unknown criterion; did you mean `mcp_tool`?")]
    [InlineData("allow:\n  and:\n    - claims/department: sales", "policy.allow.and[0].claims/department", 3, 7, "did you mean `claim/department`?")]
    [InlineData("allow:\n  and:\n    - colour: blue", "policy.allow.and[0].colour", 3, 7, "unknown criterion; the criteria are accept, authenticated_user")]
    [InlineData("allow:\n  and:\n    - source_ip: 10.0.0.0/8", "policy.allow.and[0].source_ip", 3, 7, "a Pomerium criterion that Gatehouse does not support")]
    [InlineData("allow:\n  and:\n    - claim/: admin", "policy.allow.and[0].claim/", 3, 7, "`claim` needs the claim's name after a slash")]
    [InlineData("allow:\n  and:\n    - claim: admin", "policy.allow.and[0].claim", 3, 7, "`claim` needs the claim's name after a slash")]
    [InlineData("allow:\n  and:\n    - email/work: a@example.com", "policy.allow.and[0].email/work", 3, 7, "takes nothing after a slash")]
    [InlineData("allow:\n  and:\n    - accept: false", "policy.allow.and[0].accept", 3, 15, "expected `accept: true`")]
    [InlineData("allow:\n  and:\n    - http_method: delete", "policy.allow.and[0].http_method", 3, 20, "write `DELETE`")]
    [InlineData("allow:\n  and:\n    - http_method: {in: [GET, post]}", "policy.allow.and[0].http_method", 3, 31, "write `POST`")]
    // Matchers and their values
    [InlineData("allow:\n  and:\n    - email:\n        start_with: alice", "policy.allow.and[0].email.start_with", 4, 9, "unknown matcher; did you mean `starts_with`?")]
    [InlineData("allow:\n  and:\n    - email:\n        like: alice", "policy.allow.and[0].email.like", 4, 9, "unknown matcher; use one of is, not, contains")]
    [InlineData("allow:\n  and:\n    - email:\n        has: a@example.com", "policy.allow.and[0].email.has", 4, 9, "`has` is for lists")]
    [InlineData("allow:\n  and:\n    - mcp_tool:\n        in: query", "policy.allow.and[0].mcp_tool.in", 4, 13, "expected a list of strings such as `[query, list_tables]`, got a value")]
    [InlineData("allow:\n  and:\n    - mcp_tool:\n        in: []", "policy.allow.and[0].mcp_tool.in", 4, 13, "the list is empty; give at least one value")]
    [InlineData("allow:\n  and:\n    - mcp_tool:\n        in: [query, {a: b}]", "policy.allow.and[0].mcp_tool.in[1]", 4, 21, "expected a string, got a mapping")]
    [InlineData("allow:\n  and:\n    - mcp_tool:\n        is: [a, b]", "policy.allow.and[0].mcp_tool.is", 4, 13, "expected a string, got a list; for several values use `in` or `not_in`")]
    [InlineData("allow:\n  and:\n    - mcp_tool:\n        starts_with: ''", "policy.allow.and[0].mcp_tool.starts_with", 4, 22, "an empty string would match every value")]
    [InlineData("allow:\n  and:\n    - mcp_tool: [query, list_tables]", "policy.allow.and[0].mcp_tool", 3, 17, "to match any of several values write `in: [a, b]`")]
    [InlineData("allow:\n  and:\n    - mcp_tool: {}", "policy.allow.and[0].mcp_tool", 3, 17, "expected at least one matcher: is, not")]
    [InlineData("allow:\n  and:\n    - groups: {}", "policy.allow.and[0].groups", 3, 15, "expected at least one matcher: has, is, not")]
    [InlineData("allow:\n  and:\n    - email:", "policy.allow.and[0].email", 3, 13, "has no value")]
    // Operators and rules
    [InlineData("allow:\n  or: []", "policy.allow.or", 2, 7, "the list is empty; `or` needs at least one criterion")]
    [InlineData("allow:\n  and:\n    - not: []", "policy.allow.and[0].not", 3, 12, "the list is empty; `not` needs at least one criterion")]
    [InlineData("allow:\n  and:\n    email: alice@example.com", "policy.allow.and", 3, 5, "expected a list of criteria, each starting with `- `")]
    [InlineData("allow:\n  an:\n    - email: alice@example.com", "policy.allow.an", 2, 3, "unknown operator; did you mean `and`?")]
    [InlineData("allow:\n  email: alice@example.com", "policy.allow.email", 2, 3, "a criterion goes in the list of a logical operator, such as `and: [{email: ...}]`")]
    [InlineData("allow: {}", "policy.allow", 1, 8, "expected a logical operator (`and`, `or`, `not` or `nor`)")]
    [InlineData("allow:\n  and:\n    - email: a@example.com\n      groups: sales", "policy.allow.and[0]", 3, 7, "holds 2 keys; give each criterion its own list item")]
    [InlineData("allow:\n  and:\n    - {}", "policy.allow.and[0]", 3, 7, "expected a criterion such as `email: alice@example.com`")]
    [InlineData("alow:\n  and:\n    - accept: true", "policy.alow", 1, 1, "unknown key; did you mean `allow`?")]
    [InlineData("and:\n  - accept: true", "policy.and", 1, 1, "a logical operator goes under `allow:` or `deny:`")]
    [InlineData("[]", "policy", 1, 1, "the list of rules is empty, which would admit nobody")]
    [InlineData("- {}", "policy[0]", 1, 3, "expected a rule: `allow:` and/or `deny:`")]
    [InlineData("allow everyone", "policy", 1, 1, "expected a rule (`allow:` and/or `deny:`) or a list of rules")]
    public void Read_BadPolicy_ErrorNamesKeyPathLineColumnAndFix(string policy, string key, int line, int column, string message)
    {
        var error = Assert.Single(TopLevelErrors(policy));

        Assert.Equal(key, error.Key);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal((line + 1, column + 2), (error.Line, error.Column));
    }

    [Fact]
    public void Read_BadRoutePolicy_ErrorNamesTheRouteAndTheFullKeyPath()
    {
        var errors = Assert.Throws<ConfigException>(() => new YamlConfigReader(_ => null).Read("""
            routes:
              - from: https://a.example.com
                to: http://127.0.0.1:1
                allow_public_unauthenticated_access: true
              - from: https://mcp.example.com
                to: http://127.0.0.1:5081
                mcp: {server: {}}
                policy:
                  - allow:
                      and:
                        - domain: example.com
                        - groups: sales
                        - mcp_tol: {starts_with: db_}
            """, "test.yaml")).Errors;

        var error = Assert.Single(errors);
        Assert.Equal("routes[1].policy[0].allow.and[2].mcp_tol", error.Key);
        Assert.Equal((13, 15), (error.Line, error.Column));
        Assert.Equal("13:15: routes[1].policy[0].allow.and[2].mcp_tol: unknown criterion; did you mean `mcp_tool`?", error.ToString());
    }

    [Fact]
    public void Read_SeveralMistakes_EveryOneReported()
    {
        var errors = TopLevelErrors("""
            - allow:
                and:
                  - emial: a@example.com
                  - groups: {hass: sales}
            - deny:
                or: []
            """);

        Assert.Equal(["policy[0].allow.and[0].emial", "policy[0].allow.and[1].groups.hass", "policy[1].deny.or"], errors.Select(e => e.Key));
    }

    [Fact]
    public void Read_PolicyOnPublicRoute_StillRefused()
    {
        var error = Assert.Single(Assert.Throws<ConfigException>(() => new YamlConfigReader(_ => null).Read("""
            routes:
              - from: https://a.example.com
                to: http://127.0.0.1:1
                allow_public_unauthenticated_access: true
                policy: {allow: {and: [{accept: true}]}}
            """, "test.yaml")).Errors);

        Assert.Equal("routes[0].policy", error.Key);
        Assert.Contains("would never apply", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_EnvironmentVariableInPolicy_SubstitutedOrReportedWhenMissing()
    {
        var config = new YamlConfigReader(name => name == "ADMINS" ? "admins" : null)
            .Read("policy: {allow: {and: [{groups: '${ADMINS}'}]}}\n" + Route, "test.yaml");
        var policy = RoutePolicy.Create(config.Policy, null);
        Assert.True(policy.Evaluate(PolicyTestRequests.Call("query", groups: ["admins"])).Allowed);

        var error = Assert.Single(TopLevelErrors("allow: {and: [{groups: '${NOPE}'}]}"));
        Assert.Equal("policy.allow.and[0].groups", error.Key);
        Assert.Contains("`NOPE` is not set", error.Message, StringComparison.Ordinal);
    }
}
