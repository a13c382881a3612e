using Gatehouse.Configuration;
using Gatehouse.Policy;
using Gatehouse.ResourceServer;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Tests.Policy;

/// <summary>
/// One row of the policy table in cases/*.yaml: a route policy and optionally a top-level one, a request, and the
/// decision expected (and, when given, the rule that must decide).
/// </summary>
internal sealed record PolicyCase(string Id, YamlNode? Global, YamlNode? Route, PolicyRequest Request, bool Allowed, string? Rule)
{
    private static readonly string[] s_caseKeys = ["name", "global", "policy", "request", "allowed", "rule"];

    private static readonly string[] s_requestKeys =
    [
        "anonymous", "subject", "email", "name", "groups", "claims", "client_id",
        "http_method", "http_path", "mcp_method", "mcp_tool", "mcp_prompt", "mcp_resource",
    ];

    private static readonly Lazy<IReadOnlyDictionary<string, PolicyCase>> s_all = new(Load);

    public static IReadOnlyDictionary<string, PolicyCase> All => s_all.Value;

    public static string Directory => Path.Combine(AppContext.BaseDirectory, "Policy", "cases");

    /// <summary>Compiles the case's policies the way the configuration reader does, with the same key paths.</summary>
    public RoutePolicy Compile() => RoutePolicy.Create(CompileNode(Global, "policy"), CompileNode(Route, "routes[0].policy"));

    private CompiledPolicy? CompileNode(YamlNode? node, string at)
    {
        if (node is null)
        {
            return null;
        }

        var errors = new List<ConfigError>();
        var policy = new PolicyCompiler(errors).Compile(node, at);
        Assert.True(errors.Count == 0, $"{Id}: {string.Join("; ", errors)}");
        return policy;
    }

    private static Dictionary<string, PolicyCase> Load()
    {
        var cases = new Dictionary<string, PolicyCase>(StringComparer.Ordinal);
        foreach (var file in System.IO.Directory.GetFiles(Directory, "*.yaml").Order(StringComparer.Ordinal))
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(File.ReadAllText(file)));
            var list = (YamlSequenceNode)stream.Documents[0].RootNode;
            foreach (var item in list.Children.Cast<YamlMappingNode>())
            {
                var fields = Fields(item, s_caseKeys, file);
                var id = $"{Path.GetFileNameWithoutExtension(file)}: {Text(fields["name"])}";
                var request = fields.TryGetValue("request", out var requestNode) ? ReadRequest((YamlMappingNode)requestNode, id) : ReadRequest(new YamlMappingNode(), id);
                var rule = fields.TryGetValue("rule", out var ruleNode) ? Text(ruleNode) : null;
                var @case = new PolicyCase(id, fields.GetValueOrDefault("global"), fields.GetValueOrDefault("policy"), request, Text(fields["allowed"]) == "true", rule);
                Assert.True(cases.TryAdd(id, @case), $"two cases are named `{id}`");
            }
        }

        Assert.True(cases.Count > 0, $"no policy cases in {Directory}");
        return cases;
    }

    /// <summary>
    /// A signed-in user unless <c>anonymous: true</c>: <c>email</c> defaults to someone@example.com, <c>subject</c> to
    /// the email; the request is <c>POST /mcp</c> unless it says otherwise.
    /// </summary>
    private static PolicyRequest ReadRequest(YamlMappingNode node, string id)
    {
        var fields = Fields(node, s_requestKeys, id);
        string? Get(string key) => fields.TryGetValue(key, out var value) ? Text(value) : null;

        GatewayUser? user = null;
        if (Get("anonymous") != "true")
        {
            var email = Get("email") ?? "someone@example.com";
            user = new GatewayUser
            {
                Kind = CredentialKind.AccessToken,
                Subject = Get("subject") ?? email,
                Email = email,
                Name = Get("name") ?? email,
                Groups = fields.TryGetValue("groups", out var groups) ? Strings(groups) : [],
                ClientId = Get("client_id"),
                CredentialId = "test",
                ExpiresAt = DateTimeOffset.MaxValue,
                Claims = fields.TryGetValue("claims", out var claims)
                    ? ((YamlMappingNode)claims).Children.ToDictionary(kv => Text(kv.Key), kv => (IReadOnlyList<string>)Strings(kv.Value), StringComparer.Ordinal)
                    : new Dictionary<string, IReadOnlyList<string>>(),
            };
        }

        return new PolicyRequest(user, Get("http_method") ?? "POST", Get("http_path") ?? "/mcp",
            Get("mcp_method"), Get("mcp_tool"), Get("mcp_prompt"), Get("mcp_resource"));
    }

    private static Dictionary<string, YamlNode> Fields(YamlMappingNode map, string[] allowed, string where)
    {
        var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (key, value) in map.Children)
        {
            var name = Text(key);
            Assert.True(Array.IndexOf(allowed, name) >= 0, $"{where}: unknown key `{name}` (allowed: {string.Join(", ", allowed)})");
            fields.Add(name, value);
        }

        return fields;
    }

    private static string Text(YamlNode node) => ((YamlScalarNode)node).Value ?? "";

    private static string[] Strings(YamlNode node) => node is YamlSequenceNode list ? [.. list.Children.Select(Text)] : [Text(node)];
}
