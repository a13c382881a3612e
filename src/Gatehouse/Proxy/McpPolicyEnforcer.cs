using System.Text.Json;
using Gatehouse.Audit;
using Gatehouse.Mcp;
using Gatehouse.Policy;
using Gatehouse.ResourceServer;

namespace Gatehouse.Proxy;

/// <summary>
/// Judges every request that reaches a route, after authentication: the route's policy (top level and route, see
/// docs/policy.md) over the request and, on MCP server routes, over every JSON-RPC message of a POST body, batches
/// included, as <see cref="McpBodyInspector"/> read them. Nothing of a request with a denied message reaches the
/// server. Listings in the answer are filtered by the same rules (<see cref="McpResponseInspector"/>), and every MCP
/// message is written to the audit log with its decision and outcome.
/// </summary>
internal sealed partial class McpPolicyEnforcer(RequestDelegate next, IAuditSink audit, TimeProvider time, ILogger<McpPolicyEnforcer> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<CompiledRoute>() is not { } route)
        {
            await next(context);
            return;
        }

        var user = context.Features.Get<GatewayUser>();
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        if (!route.IsMcpServer)
        {
            if (!route.Policy.IsUnrestricted)
            {
                var decision = route.Policy.Evaluate(new PolicyRequest(user, request.Method, path, null, null, null, null));
                if (!decision.Allowed)
                {
                    LogDenied(logger, route.Route.Id, user?.Email, request.Method, decision.Rule);
                    await JsonRpcErrors.WriteProblemAsync(context, StatusCodes.Status403Forbidden, "Forbidden",
                        $"Access to {route.Route.Id} is denied by policy (request {context.TraceIdentifier}).");
                    return;
                }
            }

            await next(context);
            return;
        }

        if (!HttpMethods.IsPost(request.Method))
        {
            // GET (the server's event stream) and DELETE (end of session) carry no message: judged as HTTP only.
            var decision = route.Policy.Evaluate(new PolicyRequest(user, request.Method, path, null, null, null, null));
            if (!decision.Allowed)
            {
                await WriteAuditAsync(context, route, user, null, AuditDecision.Denied, decision.Rule, null, null, null);
                await JsonRpcErrors.WriteAsync(context, StatusCodes.Status403Forbidden, JsonRpcErrors.Forbidden, DeniedMessage(context));
                return;
            }

            await next(context);
            return;
        }

        var started = time.GetTimestamp();
        var inspection = context.Features.Get<McpInspection>();
        if (inspection?.Refusal is { } refusal)
        {
            await WriteAuditAsync(context, route, user, null, AuditDecision.Refused, refusal.Message, null, refusal.Code, null);
            await JsonRpcErrors.WriteAsync(context, refusal.HttpStatus, refusal.Code, refusal.Message);
            return;
        }

        var body = inspection?.Body ?? throw new InvalidOperationException("McpBodyReader did not inspect the body.");
        var decisions = new PolicyDecision[body.Messages.Count];
        var anyDenied = false;
        for (var i = 0; i < decisions.Length; i++)
        {
            var message = body.Messages[i];
            decisions[i] = message.Kind == McpMessageKind.Response || route.Policy.IsUnrestricted
                ? new PolicyDecision(true, route.Policy.IsUnrestricted ? "no policy" : "a response to the server")
                : route.Policy.Evaluate(new PolicyRequest(user, request.Method, path, message.Method, message.Tool, message.Prompt, message.ResourceUri));
            anyDenied |= !decisions[i].Allowed;
        }

        if (anyDenied)
        {
            await RefuseAsync(context, route, user, body, decisions);
            return;
        }

        var watch = Watch(route, user, request.Method, path, body, recordOutcomes: audit is not NullAuditSink);
        if (watch is not null)
        {
            context.Features.Set(watch);
        }

        await next(context);

        var latency = time.GetElapsedTime(started).TotalMilliseconds;
        for (var i = 0; i < body.Messages.Count; i++)
        {
            var message = body.Messages[i];
            var outcome = message.RawId is not null ? watch?.OutcomeOf(message.RawId) : null;
            var failed = context.Response.StatusCode >= 400 || outcome is < 0;
            await WriteAuditAsync(context, route, user, message, failed ? AuditDecision.Failed : AuditDecision.Allowed, decisions[i].Rule,
                context.Response.StatusCode, outcome is < 0 ? outcome : null, latency);
        }
    }

    /// <summary>
    /// Listings are filtered unless no policy applies; outcomes are read for requests the audit log records (none
    /// when <c>audit.enabled</c> is false). Null when nothing in the answer needs reading: the answer then streams
    /// through YARP untouched.
    /// </summary>
    private static McpResponseWatch? Watch(CompiledRoute route, GatewayUser? user, string httpMethod, string path, McpBody body, bool recordOutcomes)
    {
        McpResponseWatch? watch = null;
        foreach (var message in body.Messages)
        {
            var filters = !route.Policy.IsUnrestricted && McpResponseRewriter.IsListing(message.Method);
            if (message.Kind != McpMessageKind.Request || message.RawId is null || !(recordOutcomes || filters))
            {
                continue;
            }

            watch ??= new McpResponseWatch { IsVisible = VisibleTo(route, user, httpMethod, path) };
            if (recordOutcomes)
            {
                watch.WatchOutcome(message.RawId);
            }

            if (filters)
            {
                watch.FilterListing(message.RawId, message.Method!);
            }
        }

        return watch;
    }

    /// <summary>
    /// Whether an item of a listing may be shown to this caller. Built here, not in <see cref="Watch"/>: a lambda there
    /// would make the compiler allocate its captures on every call of <see cref="Watch"/>, watch or not.
    /// </summary>
    private static Func<string, string, bool> VisibleTo(CompiledRoute route, GatewayUser? user, string httpMethod, string path) =>
        (usedWith, name) => route.Policy.Evaluate(new PolicyRequest(user, httpMethod, path, usedWith,
            usedWith == McpMethods.ToolsCall ? name : null,
            usedWith == McpMethods.PromptsGet ? name : null,
            usedWith == McpMethods.ResourcesRead ? name : null)).Allowed;

    /// <summary>
    /// A request with any denied message: nothing goes to the server. A single request gets a JSON-RPC error naming no
    /// rule, with <c>data.request_id</c> to find the audit record; a notification gets 202 and nothing; a batch gets an
    /// error for every request in it (JSON-RPC 2.0 §6), the denied ones and those not run because of them.
    /// </summary>
    private async Task RefuseAsync(HttpContext context, CompiledRoute route, GatewayUser? user, McpBody body, PolicyDecision[] decisions)
    {
        for (var i = 0; i < decisions.Length; i++)
        {
            var message = body.Messages[i];
            var (decision, rule) = decisions[i].Allowed
                ? (AuditDecision.Refused, "not run: another message of the batch was denied")
                : (AuditDecision.Denied, decisions[i].Rule);
            await WriteAuditAsync(context, route, user, message, decision, rule, null, decisions[i].Allowed ? null : JsonRpcErrors.Forbidden, null);
            if (!decisions[i].Allowed)
            {
                LogDenied(logger, route.Route.Id, user?.Email, message.Method ?? "(response)", decisions[i].Rule);
            }
        }

        var response = context.Response;
        var answered = body.Messages.Where(m => m.Kind == McpMessageKind.Request).ToList();
        if (answered.Count == 0)
        {
            response.StatusCode = StatusCodes.Status202Accepted;
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        response.Headers.CacheControl = "no-store";
        await using var writer = new Utf8JsonWriter(response.BodyWriter);
        if (body.IsBatch)
        {
            writer.WriteStartArray();
        }

        for (var i = 0; i < body.Messages.Count; i++)
        {
            var message = body.Messages[i];
            if (message.Kind != McpMessageKind.Request)
            {
                continue;
            }

            WriteError(writer, message.RawId!, decisions[i].Allowed
                ? $"Not run: another request of this batch was denied by policy (request {context.TraceIdentifier})."
                : DeniedMessage(context), context.TraceIdentifier);
            if (!body.IsBatch)
            {
                break;
            }
        }

        if (body.IsBatch)
        {
            writer.WriteEndArray();
        }

        await writer.FlushAsync(CancellationToken.None);
    }

    private static void WriteError(Utf8JsonWriter writer, string rawId, string message, string requestId)
    {
        writer.WriteStartObject();
        writer.WriteString("jsonrpc"u8, "2.0"u8);
        writer.WritePropertyName("id"u8);
        writer.WriteRawValue(rawId, skipInputValidation: true);
        writer.WriteStartObject("error"u8);
        writer.WriteNumber("code"u8, JsonRpcErrors.Forbidden);
        writer.WriteString("message"u8, message);
        writer.WriteStartObject("data"u8);
        writer.WriteString("request_id"u8, requestId);
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static string DeniedMessage(HttpContext context) =>
        $"Access denied by policy (request {context.TraceIdentifier}).";

    private ValueTask WriteAuditAsync(
        HttpContext context, CompiledRoute route, GatewayUser? user, McpMessage? message, AuditDecision decision, string? rule,
        int? upstreamStatus, int? errorCode, double? latency) =>
        audit.WriteAsync(new AuditRecord
        {
            Time = time.GetUtcNow(),
            RequestId = context.TraceIdentifier,
            Subject = user?.Subject,
            Email = user?.Email,
            ClientId = user?.ClientId,
            Route = route.Route.Id,
            SessionId = context.Request.Headers["Mcp-Session-Id"].FirstOrDefault(),
            JsonRpcId = message?.RawId,
            Method = message?.Method,
            Target = message?.Target,
            // The body's pooled buffer, not a copy: the sink copies what it keeps before WriteAsync returns (IAuditSink),
            // and copies nothing when arguments are off or over the cap.
            Arguments = message?.Arguments ?? default,
            Decision = decision,
            Rule = rule,
            UpstreamStatus = upstreamStatus,
            ErrorCode = errorCode,
            LatencyMs = latency,
        }, context.RequestAborted);

    [LoggerMessage(EventId = 2020, Level = LogLevel.Information, Message = "Denied {Method} on route {RouteId} for {Email}: {Rule}")]
    private static partial void LogDenied(ILogger logger, string routeId, string? email, string method, string rule);
}
