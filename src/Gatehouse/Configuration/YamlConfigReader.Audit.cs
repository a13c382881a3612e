using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Configuration;

/// <summary>The <c>audit:</c> section: the audit log's retention, arguments and redaction, log line and queue (docs/audit.md).</summary>
internal sealed partial class YamlConfigReader
{
    private static readonly string[] s_auditKeys = ["enabled", "retention", "arguments", "log", "queue_size"];
    private static readonly string[] s_auditArgumentsKeys = ["enabled", "max_bytes", "redact_keys"];

    private AuditConfig ReadAudit(Dictionary<string, YamlNode> top)
    {
        if (!top.TryGetValue("audit", out var auditNode))
        {
            return AuditConfig.Default;
        }

        if (auditNode is not YamlMappingNode map)
        {
            _errors.Add(Error("audit", auditNode, "expected a mapping such as `{retention: 720h, log: true}`; remove the key for the defaults"));
            return AuditConfig.Default;
        }

        var keys = CheckKeys(map, "audit.", s_auditKeys);
        return new AuditConfig
        {
            Enabled = OptionalBool(keys, "enabled", "audit.enabled") ?? true,
            Retention = ReadAuditRetention(keys),
            Arguments = keys.TryGetValue("arguments", out var argumentsNode) ? ReadAuditArguments(argumentsNode) : AuditArgumentsConfig.Default,
            Log = OptionalBool(keys, "log", "audit.log") ?? true,
            QueueSize = OptionalWholeNumber(keys, "queue_size", "audit.queue_size", 1, AuditConfig.MaxQueueSize, "10000") ?? AuditConfig.DefaultQueueSize,
        };
    }

    private TimeSpan ReadAuditRetention(Dictionary<string, YamlNode> keys)
    {
        const string At = "audit.retention";
        if (!keys.TryGetValue("retention", out var node))
        {
            return AuditConfig.DefaultRetention;
        }

        var text = Scalar(node, At, "a duration such as 720h");
        if (node is not YamlScalarNode)
        {
            return AuditConfig.DefaultRetention;
        }

        if (string.IsNullOrWhiteSpace(text))
        {
            _errors.Add(Error(At, node, "is empty; write how long to keep audit records, such as 720h (30 days), or remove the key for that default"));
        }
        else if (!Duration.TryParse(text, out var retention))
        {
            _errors.Add(Error(At, node, $"expected a duration such as 720h (30 days) or 2160h (90 days), got `{text}` (units: ms, s, m, h; no days)"));
        }
        else if (retention == TimeSpan.Zero)
        {
            // Pomerium-style `0` means "not set" elsewhere; here it would read as "keep forever", which is not offered.
            _errors.Add(Error(At, node,
                "0 would keep audit records forever, which Gatehouse does not allow (the table would grow without bound); " +
                "write how long to keep them, such as 720h (30 days) or 87600h (10 years)"));
        }
        else if (retention < AuditConfig.MinRetention)
        {
            _errors.Add(Error(At, node, $"`{text}` is shorter than the minimum of 1h; write 1h or more, such as 720h (30 days)"));
        }
        else
        {
            return retention;
        }

        return AuditConfig.DefaultRetention;
    }

    private AuditArgumentsConfig ReadAuditArguments(YamlNode node)
    {
        if (node is not YamlMappingNode map)
        {
            _errors.Add(Error("audit.arguments", node,
                "expected a mapping such as `{enabled: true, max_bytes: 16KiB, redact_keys: [password, token, secret, authorization]}`"));
            return AuditArgumentsConfig.Default;
        }

        var keys = CheckKeys(map, "audit.arguments.", s_auditArgumentsKeys);
        var maxBytes = AuditArgumentsConfig.DefaultMaxBytes;
        if (keys.TryGetValue("max_bytes", out var maxNode) && ReadByteSize(maxNode, "audit.arguments.max_bytes") is { } size)
        {
            if (size > AuditArgumentsConfig.MaxMaxBytes)
            {
                _errors.Add(Error("audit.arguments.max_bytes", maxNode,
                    "is over the maximum of 1MiB (each record is one database row); write 1MiB or less, such as 16KiB"));
            }
            else
            {
                maxBytes = (int)size;
            }
        }

        var redactKeys = AuditArgumentsConfig.DefaultRedactKeys;
        if (keys.TryGetValue("redact_keys", out var redactNode))
        {
            var list = new List<string>();
            foreach (var key in ReadStringList(redactNode, "audit.arguments.redact_keys").Select(k => k.Trim().ToLowerInvariant()))
            {
                if (key.Length == 0)
                {
                    _errors.Add(Error("audit.arguments.redact_keys", redactNode,
                        "an empty key would match every key and redact every value; remove it, or set `enabled: false` to record no arguments"));
                }
                else if (!list.Contains(key))
                {
                    list.Add(key);
                }
            }

            redactKeys = list;
        }

        return new AuditArgumentsConfig
        {
            Enabled = OptionalBool(keys, "enabled", "audit.arguments.enabled") ?? true,
            MaxBytes = maxBytes,
            RedactKeys = redactKeys,
        };
    }

    private int? OptionalWholeNumber(Dictionary<string, YamlNode> keys, string key, string at, int min, int max, string example)
    {
        if (!keys.TryGetValue(key, out var node) || Scalar(node, at, "a number") is not { } text)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            _errors.Add(Error(at, node, $"expected a whole number from {min} to {max}, such as {example}, got `{text}`"));
            return null;
        }

        return value;
    }
}
