namespace Gatehouse.Configuration;

/// <summary>The audit log (<c>audit:</c>): one record per MCP message, to the log stream and to the database (docs/audit.md).</summary>
internal sealed record AuditConfig
{
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromDays(30);

    /// <summary>Retention below this is refused: an audit log that forgets within minutes answers nothing.</summary>
    public static readonly TimeSpan MinRetention = TimeSpan.FromHours(1);

    public const int DefaultQueueSize = 10_000;
    public const int MaxQueueSize = 1_000_000;

    public static AuditConfig Default { get; } = new();

    /// <summary>False: no record is kept anywhere, and the proxy's writes cost nothing.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Rows older than this are deleted (<c>retention</c>, default 720h). Keeping them forever is not offered.</summary>
    public TimeSpan Retention { get; init; } = DefaultRetention;

    public AuditArgumentsConfig Arguments { get; init; } = AuditArgumentsConfig.Default;

    /// <summary>Also write every record to the log stream (<c>log</c>, category <c>Gatehouse.Audit</c>, event 6000).</summary>
    public bool Log { get; init; } = true;

    /// <summary>Records waiting for the database before writers wait (<c>queue_size</c>).</summary>
    public int QueueSize { get; init; } = DefaultQueueSize;
}

/// <summary>How tool and prompt arguments are recorded (<c>audit.arguments</c>).</summary>
internal sealed record AuditArgumentsConfig
{
    public const int DefaultMaxBytes = 16 * 1024;
    public const int MaxMaxBytes = 1024 * 1024;

    public static readonly IReadOnlyList<string> DefaultRedactKeys = ["password", "token", "secret", "authorization"];

    public static AuditArgumentsConfig Default { get; } = new();

    /// <summary>False: arguments are never recorded.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Arguments larger than this (as the client sent them) are recorded as a marker with their size.</summary>
    public int MaxBytes { get; init; } = DefaultMaxBytes;

    /// <summary>Lower-case; a key whose name contains one of these, without regard to case, has its value redacted.</summary>
    public IReadOnlyList<string> RedactKeys { get; init; } = DefaultRedactKeys;

    // A list compares by reference; two files with the same keys hold the same settings.
    public bool Equals(AuditArgumentsConfig? other) =>
        other is not null && Enabled == other.Enabled && MaxBytes == other.MaxBytes && RedactKeys.SequenceEqual(other.RedactKeys);

    public override int GetHashCode() => HashCode.Combine(Enabled, MaxBytes, RedactKeys.Count);
}
