namespace Gatehouse.Audit;

/// <summary>What the gateway did with one MCP message.</summary>
internal enum AuditDecision
{
    /// <summary>Forwarded to the upstream.</summary>
    Allowed,

    /// <summary>Refused by a policy rule.</summary>
    Denied,

    /// <summary>Refused before any rule applied: malformed or otherwise bad request.</summary>
    Refused,

    /// <summary>Allowed, but the upstream failed (unreachable, timed out, or answered with a server error).</summary>
    Failed,
}

/// <summary>
/// One MCP message through the gateway, as the proxy hands it to <see cref="IAuditSink"/>. Strings are stored as
/// given (control characters escaped, over-long values cut); <see cref="Arguments"/> is copied, capped and redacted
/// before it is stored or logged (docs/audit.md).
/// </summary>
internal sealed record AuditRecord
{
    public required DateTimeOffset Time { get; init; }

    /// <summary>The gateway's id for the HTTP request (also in denials' <c>data.request_id</c>).</summary>
    public required string RequestId { get; init; }

    public string? Subject { get; init; }

    public string? Email { get; init; }

    /// <summary>The OAuth client, or <c>service-account:&lt;id&gt;</c>.</summary>
    public string? ClientId { get; init; }

    public required string Route { get; init; }

    /// <summary>The MCP session id (<c>Mcp-Session-Id</c>), when there is one.</summary>
    public string? SessionId { get; init; }

    /// <summary>The raw JSON text of the message id (<c>1</c>, <c>"abc"</c>), or null for a notification.</summary>
    public string? JsonRpcId { get; init; }

    /// <summary>The JSON-RPC method.</summary>
    public string? Method { get; init; }

    /// <summary>The tool or prompt name, or the resource URI.</summary>
    public string? Target { get; init; }

    /// <summary>
    /// The raw JSON of <c>params.arguments</c> (<c>tools/call</c>, <c>prompts/get</c>), possibly empty. The sink copies
    /// what it keeps before <see cref="IAuditSink.WriteAsync"/> returns, so the caller may reuse the buffer afterwards.
    /// </summary>
    public ReadOnlyMemory<byte> Arguments { get; init; }

    public required AuditDecision Decision { get; init; }

    /// <summary>What decided: the policy rule's path, or the reason for a refusal.</summary>
    public string? Rule { get; init; }

    /// <summary>The HTTP status of the upstream's answer.</summary>
    public int? UpstreamStatus { get; init; }

    /// <summary>The JSON-RPC error code sent back, if any.</summary>
    public int? ErrorCode { get; init; }

    public double? LatencyMs { get; init; }
}

/// <summary>Where the proxy sends audit records. Registered by <see cref="AuditExtensions.AddGatehouseAudit"/>.</summary>
internal interface IAuditSink
{
    /// <summary>
    /// Queues the record for the log stream and the database, and returns at once. When the queue is full (storage is
    /// slower than the traffic, or down), it waits for room rather than drop the record: that is the back-pressure,
    /// counted in <c>gatehouse.audit.queue_full</c>. Cancelling that wait leaves the record out of the database: it is
    /// then written to the log at Warning (event 6003) and counted in <c>gatehouse.audit.lost</c>, and
    /// <see cref="OperationCanceledException"/> is thrown.
    /// </summary>
    ValueTask WriteAsync(AuditRecord record, CancellationToken cancellationToken);
}
