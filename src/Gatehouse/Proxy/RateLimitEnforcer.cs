using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Gatehouse.Configuration;
using Gatehouse.ResourceServer;

namespace Gatehouse.Proxy;

/// <summary>
/// A route's <c>rate_limit</c>, after authentication (so a user or client is known) and before the body is read:
/// fixed windows per route, per user and per client, counted in this replica. Over a limit: 429 with
/// <c>Retry-After</c> (RFC 9110 §10.2.3, RFC 6585 §4), and a JSON-RPC error on MCP routes.
/// </summary>
internal sealed partial class RateLimitEnforcer(
    RequestDelegate next, RateLimitRegistry registry, Audit.IAuditSink audit, TimeProvider time, ILogger<RateLimitEnforcer> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<CompiledRoute>() is not { Route.RateLimits: { } limits } route)
        {
            await next(context);
            return;
        }

        var user = context.Features.Get<GatewayUser>();
        var refusal = TryAcquire(route.Route.Id, "route", limits.Route, "*")
            ?? TryAcquire(route.Route.Id, "user", limits.User, user?.Subject)
            ?? TryAcquire(route.Route.Id, "client", limits.Client, user?.ClientId ?? "(no client)");
        if (refusal is not { } refused)
        {
            await next(context);
            return;
        }

        LogLimited(logger, route.Route.Id, refused.Kind);
        if (route.IsMcpServer)
        {
            // Refused before the body is read, so the record names the request, not its messages.
            await audit.WriteAsync(new Audit.AuditRecord
            {
                Time = time.GetUtcNow(),
                RequestId = context.TraceIdentifier,
                Subject = user?.Subject,
                Email = user?.Email,
                ClientId = user?.ClientId,
                Route = route.Route.Id,
                Decision = Audit.AuditDecision.Refused,
                Rule = $"rate_limit.{refused.Kind}",
                ErrorCode = JsonRpcErrors.RateLimited,
            }, context.RequestAborted);
        }

        var seconds = RetryAfter.Set(context.Response, refused.RetryAfter);
        var message = $"Too many requests ({refused.Kind} limit of this route); retry after {seconds} s.";
        await (route.IsMcpServer
            ? JsonRpcErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, JsonRpcErrors.RateLimited, message)
            : JsonRpcErrors.WriteProblemAsync(context, StatusCodes.Status429TooManyRequests, "Too Many Requests", message));
    }

    private (string Kind, TimeSpan RetryAfter)? TryAcquire(string routeId, string kind, RateLimit? limit, string? key)
    {
        if (limit is null || key is null)
        {
            return null;
        }

        using var lease = registry.For(routeId, kind, limit).AttemptAcquire(key);
        if (lease.IsAcquired)
        {
            return null;
        }

        return (kind, lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : limit.Interval);
    }

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Refused a request to route {RouteId}: over its {Kind} rate limit")]
    private static partial void LogLimited(ILogger logger, string routeId, string kind);
}

/// <summary>
/// The limiters in force, one partitioned limiter per route and kind, replaced when a reload changes that limit (a
/// changed limit starts with fresh windows). Idle partitions are dropped by the limiters themselves.
/// </summary>
internal sealed class RateLimitRegistry : IDisposable
{
    private readonly ConcurrentDictionary<(string Route, string Kind), (RateLimit Limit, PartitionedRateLimiter<string> Limiter)> _limiters = new();

    public PartitionedRateLimiter<string> For(string routeId, string kind, RateLimit limit)
    {
        var key = (routeId, kind);
        if (_limiters.TryGetValue(key, out var existing) && existing.Limit == limit)
        {
            return existing.Limiter;
        }

        var created = (limit, PartitionedRateLimiter.Create<string, string>(partition => RateLimitPartition.GetFixedWindowLimiter(partition, _ =>
            new FixedWindowRateLimiterOptions { PermitLimit = limit.Requests, Window = limit.Interval, QueueLimit = 0, AutoReplenishment = true })));
        var current = _limiters.AddOrUpdate(key, created, (_, old) => old.Limit == limit ? old : created);
        if (!ReferenceEquals(current.Limiter, created.Item2))
        {
            created.Item2.Dispose();
        }

        return current.Limiter;
    }

    public void Dispose()
    {
        foreach (var (_, limiter) in _limiters.Values)
        {
            limiter.Dispose();
        }
    }
}
