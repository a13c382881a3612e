using System.Collections.Frozen;
using Gatehouse.Configuration;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Policy;

/// <summary>
/// Compiles a <c>policy</c> node written in Pomerium Policy Language into a <see cref="CompiledPolicy"/>, once, when
/// the configuration loads. Every problem is reported as a <see cref="ConfigError"/> naming the key path (such as
/// <c>routes[1].policy[0].allow.and[2].mcp_tool</c>), the line and column, and what to write instead; nothing is
/// returned unless the whole node is valid. The language is described in docs/policy.md.
/// </summary>
/// <param name="errors">Where errors go (the configuration reader's list).</param>
/// <param name="substitute">Replaces <c>${NAME}</c> in a scalar as the rest of the file does; null leaves values as written.</param>
internal sealed class PolicyCompiler(List<ConfigError> errors, Func<string, string, YamlNode, string>? substitute = null)
{
    private static readonly string[] s_actions = ["allow", "deny"];
    private static readonly string[] s_operators = ["and", "or", "not", "nor"];

    private static readonly FrozenDictionary<string, (RequestValue Value, bool IgnoreCase)> s_valueCriteria =
        new Dictionary<string, (RequestValue, bool)>
        {
            ["email"] = (RequestValue.Email, true),
            ["domain"] = (RequestValue.Domain, true),
            ["user"] = (RequestValue.User, false),
            ["client_id"] = (RequestValue.ClientId, false),
            ["http_method"] = (RequestValue.HttpMethod, false),
            ["http_path"] = (RequestValue.HttpPath, false),
            ["mcp_method"] = (RequestValue.McpMethod, false),
            ["mcp_tool"] = (RequestValue.McpTool, false),
            ["mcp_prompt"] = (RequestValue.McpPrompt, false),
            ["mcp_resource"] = (RequestValue.McpResource, false),
        }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly string[] s_criteria =
    [
        "accept", "authenticated_user", "email", "domain", "user", "groups", "claim", "client_id",
        "http_method", "http_path", "mcp_method", "mcp_tool", "mcp_prompt", "mcp_resource",
    ];

    /// <summary>Pomerium criteria that have no meaning here (or no data behind them yet): named, so nobody guesses.</summary>
    private static readonly string[] s_pomeriumOnlyCriteria =
    [
        "reject", "source_ip", "cors_preflight", "client_certificate", "invalid_client_certificate", "device",
        "pomerium_routes", "date", "day_of_week", "time_of_day", "record", "ssh_username", "ssh_publickey",
    ];

    private static readonly string[] s_valueMatchers = ["is", "not", "contains", "starts_with", "ends_with", "in", "not_in"];
    private static readonly string[] s_listMatchers = ["has", "is", "not", "contains", "starts_with", "ends_with", "in", "not_in"];

    private const string CriteriaList = "accept, authenticated_user, email, domain, user, groups, claim/<name>, client_id, " +
        "http_method, http_path, mcp_method, mcp_tool, mcp_prompt, mcp_resource";

    /// <summary>Compiles one policy from YAML text; for tests and tools. Throws <see cref="ConfigException"/> with every error.</summary>
    public static CompiledPolicy Compile(string yaml, string at = "policy")
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var errors = new List<ConfigError>();
        var policy = stream.Documents.Count == 0
            ? null
            : new PolicyCompiler(errors).Compile(stream.Documents[0].RootNode, at);
        if (policy is null)
        {
            throw new ConfigException(at, errors.Count > 0 ? errors : [new ConfigError(at, 0, 0, "the policy is empty")]);
        }

        return policy;
    }

    /// <summary>The compiled policy, or null when <paramref name="node"/> has errors (all of them added to the list).</summary>
    public CompiledPolicy? Compile(YamlNode node, string at)
    {
        var before = errors.Count;
        var rules = new List<PolicyRule>();
        switch (node)
        {
            case YamlMappingNode rule:
                ReadRule(rule, at, rules);
                break;
            case YamlSequenceNode { Children.Count: 0 }:
                Error(at, node, "the list of rules is empty, which would admit nobody; add a rule such as `- allow: {or: [{groups: {has: sales}}]}` or remove `policy`");
                break;
            case YamlSequenceNode list:
                for (var i = 0; i < list.Children.Count; i++)
                {
                    ReadRule(list.Children[i], $"{at}[{i}]", rules);
                }

                break;
            default:
                Error(at, node, "expected a rule (`allow:` and/or `deny:`) or a list of rules, such as `- allow: {or: [{groups: {has: sales}}]}`");
                break;
        }

        return errors.Count == before ? new CompiledPolicy(rules) : null;
    }

    private void ReadRule(YamlNode node, string at, List<PolicyRule> rules)
    {
        if (node is not YamlMappingNode { Children.Count: > 0 } map)
        {
            Error(at, node, "expected a rule: `allow:` and/or `deny:` holding a logical operator, such as `allow: {or: [{groups: {has: sales}}]}`");
            return;
        }

        foreach (var (name, keyNode, value) in Entries(map))
        {
            var where = $"{at}.{name}";
            if (Array.IndexOf(s_actions, name) < 0)
            {
                Error(where, keyNode, Array.IndexOf(s_operators, name) >= 0
                    ? $"a logical operator goes under `allow:` or `deny:`, such as `allow: {{{name}: [...]}}`"
                    : Unknown("key", name, s_actions, "a rule takes `allow` and `deny`"));
                continue;
            }

            if (ReadAction(value, where) is { } condition)
            {
                rules.Add(new PolicyRule(name == "allow" ? PolicyAction.Allow : PolicyAction.Deny, where, condition));
            }
        }
    }

    /// <summary>
    /// The body of <c>allow</c> or <c>deny</c>: one or more logical operators. Several are joined with or, as in
    /// Pomerium ("Multiple Operators in a Rule").
    /// </summary>
    private PolicyCondition? ReadAction(YamlNode node, string at)
    {
        if (node is not YamlMappingNode { Children.Count: > 0 } map)
        {
            Error(at, node, "expected a logical operator (`and`, `or`, `not` or `nor`) with a list of criteria, such as `and: [{groups: {has: sales}}]`");
            return null;
        }

        var operands = new List<PolicyCondition>();
        var valid = true;
        foreach (var (name, keyNode, value) in Entries(map))
        {
            var where = $"{at}.{name}";
            if (OperatorOf(name) is not { } op)
            {
                Error(where, keyNode, IsCriterionName(name)
                    ? $"a criterion goes in the list of a logical operator, such as `and: [{{{name}: ...}}]`"
                    : Unknown("operator", name, s_operators, "expected `and`, `or`, `not` or `nor`"));
                valid = false;
                continue;
            }

            if (ReadOperator(op, value, where) is { } condition)
            {
                operands.Add(condition);
            }
            else
            {
                valid = false;
            }
        }

        return !valid ? null : operands.Count == 1 ? operands[0] : new OperatorCondition(LogicalOperator.Or, [.. operands]);
    }

    private OperatorCondition? ReadOperator(LogicalOperator op, YamlNode node, string at)
    {
        var name = s_operators[(int)op];
        if (node is not YamlSequenceNode list)
        {
            Error(at, node, $"expected a list of criteria, each starting with `- `, such as `{name}: [{{email: alice@example.com}}]`");
            return null;
        }

        if (list.Children.Count == 0)
        {
            Error(at, node, $"the list is empty; `{name}` needs at least one criterion (or a nested operator)");
            return null;
        }

        var operands = new List<PolicyCondition>(list.Children.Count);
        for (var i = 0; i < list.Children.Count; i++)
        {
            if (ReadItem(list.Children[i], $"{at}[{i}]") is { } operand)
            {
                operands.Add(operand);
            }
        }

        return operands.Count == list.Children.Count ? new OperatorCondition(op, [.. operands]) : null;
    }

    /// <summary>One list item: a criterion, or a nested operator (<c>- or: [...]</c>), which Gatehouse adds to Pomerium.</summary>
    private PolicyCondition? ReadItem(YamlNode node, string at)
    {
        if (node is not YamlMappingNode { Children.Count: > 0 } map)
        {
            Error(at, node, "expected a criterion such as `email: alice@example.com`, or a nested operator such as `or: [...]`");
            return null;
        }

        if (map.Children.Count > 1)
        {
            Error(at, node, $"holds {map.Children.Count} keys; give each criterion its own list item (start each with `- `), or group them with `and: [...]`");
            return null;
        }

        var (keyNode, value) = map.Children[0];
        var key = (keyNode as YamlScalarNode)?.Value ?? "";
        return OperatorOf(key) is { } op
            ? ReadOperator(op, value, $"{at}.{key}")
            : ReadCriterion(key, keyNode, value, $"{at}.{key}");
    }

    private PolicyCondition? ReadCriterion(string key, YamlNode keyNode, YamlNode value, string at)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        var name = slash < 0 ? key : key[..slash];
        var claim = slash < 0 ? null : key[(slash + 1)..];

        if (name == "claim")
        {
            if (string.IsNullOrEmpty(claim))
            {
                Error(at, keyNode, "`claim` needs the claim's name after a slash, such as `claim/department: sales`");
                return null;
            }

            return ReadMatcher(value, at, list: true, ignoreCase: false) is { } claimMatcher ? new ListCondition(claim, claimMatcher) : null;
        }

        if (!IsCriterionName(name))
        {
            Error(at, keyNode, UnknownCriterion(name, claim));
            return null;
        }

        if (claim is not null)
        {
            Error(at, keyNode, $"`{name}` takes nothing after a slash; only `claim/<name>` does");
            return null;
        }

        switch (name)
        {
            case "accept" or "authenticated_user":
                return ReadTrue(value, at, name) ? new ConstantCondition(requiresUser: name == "authenticated_user") : null;
            case "groups":
                return ReadMatcher(value, at, list: true, ignoreCase: false) is { } groups ? new ListCondition(null, groups) : null;
        }

        var (requestValue, ignoreCase) = s_valueCriteria[name];
        if (ReadMatcher(value, at, list: false, ignoreCase) is not { } matcher)
        {
            return null;
        }

        return requestValue == RequestValue.HttpMethod && !CheckHttpMethods(value, at) ? null : new ValueCondition(requestValue, matcher);
    }

    /// <summary>
    /// A matcher: a bare value (<c>is</c>, or <c>has</c> on a list), or a mapping of operators that must all match.
    /// </summary>
    private StringMatcher? ReadMatcher(YamlNode node, string at, bool list, bool ignoreCase)
    {
        switch (node)
        {
            case YamlScalarNode { Value: null or "" }:
                Error(at, node, "has no value; write one, such as `email: alice@example.com`, or a matcher such as `{ends_with: '@example.com'}`");
                return null;
            case YamlScalarNode scalar:
                return new StringMatcher([StringTest.Create(list ? StringMatch.Has : StringMatch.Is, Text(scalar, at), ignoreCase)]);
            case YamlSequenceNode:
                Error(at, node, "a list is not a value here; to match any of several values write `in: [a, b]`");
                return null;
            case YamlMappingNode { Children.Count: 0 } or not YamlMappingNode:
                Error(at, node, $"expected at least one matcher: {string.Join(", ", list ? s_listMatchers : s_valueMatchers)}");
                return null;
        }

        var tests = new List<StringTest>();
        var valid = true;
        foreach (var (name, keyNode, value) in Entries((YamlMappingNode)node))
        {
            var where = $"{at}.{name}";
            if (MatchOf(name) is not { } kind || (kind == StringMatch.Has && !list))
            {
                Error(where, keyNode, name == "has"
                    ? "`has` is for lists (`groups`, `claim/<name>`); use `is` here"
                    : Unknown("matcher", name, list ? s_listMatchers : s_valueMatchers, "use one of " + string.Join(", ", list ? s_listMatchers : s_valueMatchers)));
                valid = false;
                continue;
            }

            if (kind is StringMatch.In or StringMatch.NotIn)
            {
                if (ReadSet(value, where) is { } values)
                {
                    tests.Add(StringTest.CreateSet(kind, values, ignoreCase));
                    continue;
                }
            }
            else if (ReadOperand(value, where, kind) is { } operand)
            {
                tests.Add(StringTest.Create(kind, operand, ignoreCase));
                continue;
            }

            valid = false;
        }

        return valid ? new StringMatcher([.. tests]) : null;
    }

    private string? ReadOperand(YamlNode node, string at, StringMatch kind)
    {
        if (node is not YamlScalarNode { Value: not null } scalar)
        {
            Error(at, node, node is YamlScalarNode
                ? "has no value; write a string"
                : $"expected a string, got a {Describe(node)}{(kind is StringMatch.Is or StringMatch.Not ? "; for several values use `in` or `not_in`" : "")}");
            return null;
        }

        var text = Text(scalar, at);
        if (text.Length == 0 && kind is StringMatch.Contains or StringMatch.StartsWith or StringMatch.EndsWith)
        {
            Error(at, node, "an empty string would match every value; write the text to look for");
            return null;
        }

        return text;
    }

    private List<string>? ReadSet(YamlNode node, string at)
    {
        if (node is not YamlSequenceNode { Children.Count: > 0 } list)
        {
            Error(at, node, node is YamlSequenceNode
                ? "the list is empty; give at least one value"
                : $"expected a list of strings such as `[query, list_tables]`, got a {Describe(node)}");
            return null;
        }

        var values = new List<string>(list.Children.Count);
        for (var i = 0; i < list.Children.Count; i++)
        {
            if (list.Children[i] is YamlScalarNode { Value: not null } item)
            {
                values.Add(Text(item, $"{at}[{i}]"));
            }
            else
            {
                Error($"{at}[{i}]", list.Children[i], $"expected a string, got a {Describe(list.Children[i])}");
                return null;
            }
        }

        return values;
    }

    private bool ReadTrue(YamlNode node, string at, string name)
    {
        if (node is YamlScalarNode { Value: "true" or "True" or "TRUE" })
        {
            return true;
        }

        Error(at, node, $"expected `{name}: true`; to match nobody, leave the rule out");
        return false;
    }

    /// <summary>
    /// HTTP methods are case-sensitive (RFC 9110 §9.1) and clients send the standard ones in upper case, so
    /// <c>http_method: delete</c> would never match: in a deny rule, silently allowing what it was meant to stop.
    /// </summary>
    private bool CheckHttpMethods(YamlNode node, string at)
    {
        var valid = true;
        foreach (var scalar in Scalars(node))
        {
            if (scalar.Value is { } method && method.Any(char.IsAsciiLetterLower))
            {
                Error(at, scalar, $"HTTP methods are case-sensitive and sent in upper case: write `{method.ToUpperInvariant()}`");
                valid = false;
            }
        }

        return valid;
    }

    private static IEnumerable<YamlScalarNode> Scalars(YamlNode node) => node switch
    {
        YamlScalarNode scalar => [scalar],
        YamlSequenceNode list => list.Children.SelectMany(Scalars),
        YamlMappingNode map => map.Children.Values.SelectMany(Scalars),
        _ => [],
    };

    /// <summary>The keys of a mapping in order (YamlDotNet already refuses a key written twice).</summary>
    private static IEnumerable<(string Name, YamlNode KeyNode, YamlNode Value)> Entries(YamlMappingNode map) =>
        map.Children.Select(kv => ((kv.Key as YamlScalarNode)?.Value ?? "", kv.Key, kv.Value));

    private string Text(YamlScalarNode scalar, string at) => substitute is null ? scalar.Value ?? "" : substitute(scalar.Value ?? "", at, scalar);

    private static LogicalOperator? OperatorOf(string name) => Array.IndexOf(s_operators, name) is var i and >= 0 ? (LogicalOperator)i : null;

    private static StringMatch? MatchOf(string name) => name switch
    {
        "is" => StringMatch.Is,
        "not" => StringMatch.Not,
        "contains" => StringMatch.Contains,
        "starts_with" => StringMatch.StartsWith,
        "ends_with" => StringMatch.EndsWith,
        "in" => StringMatch.In,
        "not_in" => StringMatch.NotIn,
        "has" => StringMatch.Has,
        _ => null,
    };

    private static bool IsCriterionName(string name) => Array.IndexOf(s_criteria, name) >= 0;

    private static string UnknownCriterion(string name, string? claim)
    {
        if (Array.IndexOf(s_pomeriumOnlyCriteria, name) >= 0)
        {
            return $"`{name}` is a Pomerium criterion that Gatehouse does not support; the criteria are {CriteriaList}";
        }

        return YamlConfigReader.Suggest(name, s_criteria) is { } suggestion
            ? $"unknown criterion; did you mean `{(suggestion == "claim" ? $"claim/{claim ?? "<name>"}" : suggestion)}`?"
            : $"unknown criterion; the criteria are {CriteriaList}";
    }

    private static string Unknown(string what, string name, string[] allowed, string hint) =>
        YamlConfigReader.Suggest(name, allowed) is { } suggestion ? $"unknown {what}; did you mean `{suggestion}`?" : $"unknown {what}; {hint}";

    private static string Describe(YamlNode node) => node switch
    {
        YamlSequenceNode => "list",
        YamlMappingNode => "mapping",
        _ => "value",
    };

    private void Error(string key, YamlNode node, string message) =>
        errors.Add(new ConfigError(key, (int)node.Start.Line, (int)node.Start.Column, message));
}
