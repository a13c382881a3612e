using Gatehouse.Configuration;

namespace Gatehouse.Tests.Configuration;

public sealed class YamlConfigReaderTests
{
    private const string ValidRoute = """
        routes:
          - from: https://mcp.example.com
            prefix: /northwind
            to: http://127.0.0.1:5081
            allow_public_unauthenticated_access: true
            mcp:
              server: {}
        """;

    private static ConfigException Fails(string yaml, Func<string, string?>? env = null) =>
        Assert.Throws<ConfigException>(() => new YamlConfigReader(env ?? (_ => null)).Read(yaml, "test.yaml"));

    private static GatewayConfig Loads(string yaml, Func<string, string?>? env = null) =>
        new YamlConfigReader(env ?? (_ => null)).Read(yaml, "test.yaml");

    [Fact]
    public void Read_ValidFile_ProducesRoutesWithDefaults()
    {
        var config = Loads("address: 127.0.0.1:9090\n" + ValidRoute);

        Assert.Equal(9090, config.Address.Port);
        var route = Assert.Single(config.Routes);
        Assert.Equal(RouteKind.McpServer, route.Kind);
        Assert.Equal(1024 * 1024, route.McpServer!.MaxRequestBytes);
        Assert.Equal("https://mcp.example.com/northwind", route.PublicUrl);
        Assert.Null(route.Timeout);
    }

    [Fact]
    public void Read_UnknownKey_NamesKeyLineColumnAndSuggestion()
    {
        var error = Assert.Single(Fails("""
            address: 127.0.0.1:8080
            routes:
              - from: https://a.example.com
                prefx: /x
                to: http://127.0.0.1:1
                allow_public_unauthenticated_access: true
            """).Errors);

        Assert.Equal("routes[0].prefx", error.Key);
        Assert.Equal((4, 5), (error.Line, error.Column));
        Assert.Contains("did you mean `prefix`?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_WrongTypes_EachReportedWithWhatToWrite()
    {
        var errors = Fails("""
            address: 127.0.0.1:8080
            routes:
              - from: https://a.example.com
                to: http://127.0.0.1:1
                allow_public_unauthenticated_access: true
                tls_skip_verify: sometimes
                timeout: soon
                mcp:
                  server:
                    max_request_bytes: -5
            """).Errors;

        Assert.Contains(errors, e => e.Key == "routes[0].tls_skip_verify" && e.Message.Contains("true or false", StringComparison.Ordinal) && e.Line == 6);
        Assert.Contains(errors, e => e.Key == "routes[0].timeout" && e.Message.Contains("30s", StringComparison.Ordinal) && e.Line == 7);
        Assert.Contains(errors, e => e.Key == "routes[0].mcp.server.max_request_bytes" && e.Line == 10);
        Assert.Equal(3, errors.Count);
    }

    [Theory]
    [InlineData("prefix: /a\n    path: /b", "routes[0].path", "cannot both be set")]
    [InlineData("mcp:\n      server: {}\n      client: {}", "routes[0].mcp", "exactly one")]
    [InlineData("tls_skip_verify: true\n    tls_custom_ca_file: /etc/hostname", "routes[0].tls_skip_verify", "keep only one")]
    [InlineData("prefix: noslash", "routes[0].prefix", "starting with /")]
    [InlineData("set_request_headers:\n      X-Gatehouse-Jwt-Assertion: forged", "routes[0]", "managed by Gatehouse")]
    [InlineData("mcp:\n      server:\n        upstream_oauth2: {}", "routes[0].mcp.server.upstream_oauth2.client_id", "missing")]
    [InlineData("prefix_rewrite: /x", "routes[0].prefix_rewrite", "add `prefix:`")]
    [InlineData("set_request_headers:\n      X-Forwarded-For: 1.2.3.4", "routes[0]", "managed by Gatehouse")]
    [InlineData("remove_request_headers: ['bad header']", "routes[0]", "not a valid header name")]
    [InlineData("set_request_headers:\n      Authorization: Bearer ${pomerium.access_token}", "routes[0].set_request_headers.Authorization", "not supported")]
    [InlineData("mcp:\n      client: yes", "routes[0].mcp.client", "expected `{}`")]
    public void Read_ImpossibleCombination_ExplainsTheFix(string routeExtra, string key, string fragment)
    {
        var errors = Fails($"""
            address: 127.0.0.1:8080
            routes:
              - from: https://a.example.com
                to: http://127.0.0.1:1
                allow_public_unauthenticated_access: true
                {routeExtra}
            """).Errors;

        Assert.Contains(errors, e => e.Key == key && e.Message.Contains(fragment, StringComparison.Ordinal));
    }

    [Fact]
    public void Load_FileWithTopLevelAndRoutePolicies_CompilesBoth()
    {
        var directory = Directory.CreateTempSubdirectory("gatehouse-policy-").FullName;
        var path = Path.Combine(directory, "gatehouse.yaml");
        File.WriteAllText(path, """
            policy:
              - allow:
                  or:
                    - domain: {is: example.com}
              - deny:
                  and:
                    - mcp_tool: {starts_with: admin_}
            routes:
              - from: https://mcp.example.com
                prefix: /sales
                to: http://127.0.0.1:5081
                mcp:
                  server: {}
                policy:
                  allow:
                    and:
                      - groups: {has: sales}
              - from: https://mcp.example.com
                prefix: /public
                to: http://127.0.0.1:5082
                allow_public_unauthenticated_access: true
            """);

        var config = YamlConfigReader.Load(path);
        Directory.Delete(directory, recursive: true);
        var snapshot = Gatehouse.Proxy.GatewaySnapshot.Create(config);

        Assert.Equal(["policy[0].allow", "policy[1].deny"], config.Policy!.Rules.Select(r => r.Source));
        Assert.Equal("routes[0].policy.allow", Assert.Single(config.Routes[0].Policy!.Rules).Source);
        Assert.False(snapshot.Routes["route-0"].Policy.IsUnrestricted);
        Assert.True(snapshot.Routes["route-1"].Policy.IsUnrestricted); // a public route admits everyone: no policy applies
    }

    [Fact]
    public void Read_SameUpstreamTwiceOrOriginNotHttp_Refused()
    {
        var errors = Fails("""
            cors_allowed_origins: [ftp://files.example.com]
            routes:
              - from: https://a.example.com
                to: [http://127.0.0.1:1, http://127.0.0.1:1]
                allow_public_unauthenticated_access: true
            """).Errors;

        Assert.Contains(errors, e => e.Key == "routes[0].to" && e.Message.Contains("same upstream URL twice", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "cors_allowed_origins" && e.Message.Contains("http(s) origin", StringComparison.Ordinal));
    }

    [Fact]
    public void Read_SameHostDifferentScheme_ReportedAsUnreachable()
    {
        var errors = Fails("""
            routes:
              - from: http://a.example.com
                prefix: /mcp
                to: http://127.0.0.1:1
                allow_public_unauthenticated_access: true
              - from: https://a.example.com
                prefix: /mcp/
                to: http://127.0.0.1:2
                allow_public_unauthenticated_access: true
            """).Errors;

        Assert.Contains(errors, e => e.Key == "routes[1]" && e.Message.Contains("same requests as routes[0]", StringComparison.Ordinal));
    }

    [Fact]
    public void Read_CaFileWithoutCertificate_Refused()
    {
        var caFile = Path.GetTempFileName();
        File.WriteAllText(caFile, "not a certificate");
        try
        {
            var error = Assert.Single(Fails($"""
                routes:
                  - from: https://a.example.com
                    to: https://127.0.0.1:1
                    allow_public_unauthenticated_access: true
                    tls_custom_ca_file: {caFile}
                """).Errors);

            Assert.Equal("routes[0].tls_custom_ca_file", error.Key);
            Assert.Contains("no PEM certificate", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(caFile);
        }
    }

    [Fact]
    public void Read_FromWithPath_SaysToMoveItToPrefix()
    {
        var error = Assert.Single(Fails("""
            routes:
              - from: https://a.example.com/mcp
                to: http://127.0.0.1:1
                allow_public_unauthenticated_access: true
            """).Errors);

        Assert.Equal("routes[0].from", error.Key);
        Assert.Contains("prefix", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_PlainHttpOnPublicAddress_RefusedUnlessInsecureServer()
    {
        var error = Assert.Single(Fails("address: 0.0.0.0:8080\n" + ValidRoute).Errors);
        Assert.Equal("address", error.Key);
        Assert.Contains("insecure_server", error.Message, StringComparison.Ordinal);

        var config = Loads("address: :8080\ninsecure_server: true\n" + ValidRoute);
        Assert.Null(config.Address.Host);
    }

    [Fact]
    public void Read_EnvironmentReference_SubstitutedAndMissingOneIsAnError()
    {
        var yaml = """
            routes:
              - from: https://a.example.com
                to: http://127.0.0.1:1
                allow_public_unauthenticated_access: true
                set_request_headers:
                  Authorization: Bearer ${UPSTREAM_KEY}
                  X-Price: $$5
            """;

        var route = Assert.Single(Loads(yaml, name => name == "UPSTREAM_KEY" ? "s3cret" : null).Routes);
        Assert.Equal("Bearer s3cret", route.SetRequestHeaders["Authorization"]);
        Assert.Equal("$5", route.SetRequestHeaders["X-Price"]);

        var error = Assert.Single(Fails(yaml).Errors);
        Assert.Contains("`UPSTREAM_KEY` is not set", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_RouteWithoutPublicAccess_RefusedUntilSignInExists()
    {
        var error = Assert.Single(Fails("""
            routes:
              - from: https://a.example.com
                to: http://127.0.0.1:1
            """).Errors);

        Assert.Contains("allow_public_unauthenticated_access", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_DuplicateRoutesAndNames_Refused()
    {
        var errors = Fails("""
            routes:
              - name: a
                from: https://a.example.com
                to: http://127.0.0.1:1
                allow_public_unauthenticated_access: true
              - name: a
                from: https://a.example.com
                to: http://127.0.0.1:2
                allow_public_unauthenticated_access: true
            """).Errors;

        Assert.Contains(errors, e => e.Message.Contains("same requests as routes[0]", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message.Contains("already used by routes[0]", StringComparison.Ordinal));
    }

    [Fact]
    public void Read_InvalidYaml_ReportsPosition()
    {
        var error = Assert.Single(Fails("routes:\n  - from: [unclosed\n").Errors);
        Assert.Equal("(yaml)", error.Key);
        Assert.True(error.Line >= 2);
    }

    [Fact]
    public void Read_WildcardCorsOrigin_Refused()
    {
        var error = Assert.Single(Fails("cors_allowed_origins: ['*']\n" + ValidRoute).Errors);
        Assert.Contains("DNS rebinding", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("250ms", 250)]
    [InlineData("1.5s", 1_500)]
    public void Duration_GoStyle_Parsed(string text, double milliseconds)
    {
        Assert.True(Duration.TryParse(text, out var value));
        Assert.Equal(milliseconds, value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("30")]
    [InlineData("5 minutes")]
    [InlineData("")]
    public void Duration_Malformed_Rejected(string text) => Assert.False(Duration.TryParse(text, out _));
}
