using Gatehouse.Configuration;

namespace Gatehouse.Tests.Audit;

/// <summary>The <c>audit:</c> section: defaults, every key, and errors that name the key, the place and the fix.</summary>
public sealed class AuditConfigTests
{
    private const string Routes = """
        routes:
          - from: https://mcp.example.com
            to: http://127.0.0.1:5081
            allow_public_unauthenticated_access: true
        """;

    private static GatewayConfig Loads(string topLevel) => new YamlConfigReader(_ => null).Read(topLevel + "\n" + Routes, "test.yaml");

    private static ConfigError FailsOnce(string topLevel) => Assert.Single(Assert.Throws<ConfigException>(() => Loads(topLevel)).Errors);

    [Fact]
    public void Read_NoAuditKey_OnWithDefaults()
    {
        var audit = Loads("").Audit;

        Assert.True(audit.Enabled);
        Assert.Equal(TimeSpan.FromHours(720), audit.Retention);
        Assert.True(audit.Log);
        Assert.Equal(10_000, audit.QueueSize);
        Assert.True(audit.Arguments.Enabled);
        Assert.Equal(16 * 1024, audit.Arguments.MaxBytes);
        Assert.Equal(["password", "token", "secret", "authorization"], audit.Arguments.RedactKeys);
    }

    [Fact]
    public void Read_EveryKey_Applied()
    {
        var audit = Loads("""
            audit:
              enabled: true
              retention: 2160h
              log: false
              queue_size: 500
              arguments:
                enabled: false
                max_bytes: 64KiB
                redact_keys: [Password, ssn, ssn]
            """).Audit;

        Assert.Equal(new AuditConfig
        {
            Retention = TimeSpan.FromDays(90),
            Log = false,
            QueueSize = 500,
            Arguments = new AuditArgumentsConfig { Enabled = false, MaxBytes = 64 * 1024, RedactKeys = ["password", "ssn"] },
        }, audit);
    }

    [Fact]
    public void Read_EmptyRedactKeys_NothingRedacted()
    {
        Assert.Empty(Loads("audit: {arguments: {redact_keys: []}}").Audit.Arguments.RedactKeys);
    }

    [Fact]
    public void Read_Disabled_Off()
    {
        Assert.False(Loads("audit: {enabled: false}").Audit.Enabled);
    }

    [Theory]
    [InlineData("audit:\n  retention: 0", "audit.retention", 2, 14, "0 would keep audit records forever, which Gatehouse does not allow")]
    [InlineData("audit:\n  retention: 0s", "audit.retention", 2, 14, "write how long to keep them, such as 720h (30 days) or 87600h (10 years)")]
    [InlineData("audit:\n  retention: 30d", "audit.retention", 2, 14, "expected a duration such as 720h (30 days) or 2160h (90 days), got `30d`")]
    [InlineData("audit:\n  retention: 10m", "audit.retention", 2, 14, "`10m` is shorter than the minimum of 1h")]
    [InlineData("audit:\n  retention:", "audit.retention", 2, 13, "is empty; write how long to keep audit records")]
    [InlineData("audit:\n  queue_size: 0", "audit.queue_size", 2, 15, "expected a whole number from 1 to 1000000, such as 10000, got `0`")]
    [InlineData("audit:\n  queue_size: lots", "audit.queue_size", 2, 15, "expected a whole number from 1 to 1000000")]
    [InlineData("audit:\n  log: yes", "audit.log", 2, 8, "expected true or false, got `yes`")]
    [InlineData("audit:\n  enabled: [true]", "audit.enabled", 2, 12, "expected true or false, got a list")]
    [InlineData("audit:\n  retension: 1h", "audit.retension", 2, 3, "unknown key; did you mean `retention`?")]
    [InlineData("audit: true", "audit", 1, 8, "expected a mapping such as `{retention: 720h, log: true}`")]
    [InlineData("audit:\n  arguments: false", "audit.arguments", 2, 14, "expected a mapping such as `{enabled: true, max_bytes: 16KiB")]
    [InlineData("audit:\n  arguments:\n    max_bytes: 2MiB", "audit.arguments.max_bytes", 3, 16, "is over the maximum of 1MiB")]
    [InlineData("audit:\n  arguments:\n    max_bytes: 16KB", "audit.arguments.max_bytes", 3, 16, "expected a positive number of bytes such as 1048576 or 1MiB")]
    [InlineData("audit:\n  arguments:\n    redact_keys: [password, '']", "audit.arguments.redact_keys", 3, 18, "an empty key would match every key")]
    [InlineData("audit:\n  arguments:\n    redact: [password]", "audit.arguments.redact", 3, 5, "unknown key; did you mean `redact_keys`?")]
    public void Read_BadValue_OneErrorWithKeyPlaceAndFix(string yaml, string key, int line, int column, string message)
    {
        var error = FailsOnce(yaml);

        Assert.Equal((key, line, column), (error.Key, error.Line, error.Column));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
