using System.Text.Json;
using Gatehouse.Servers.Notes.Notes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Servers.Notes.ResourceServer;

/// <summary>
/// Step-up authorization (MCP authorization, "Scope Challenge Handling"; RFC 6750 §3.1): a POST to the MCP endpoint
/// that calls a tool the token's scopes do not cover is answered <c>403</c> with
/// <c>WWW-Authenticate: Bearer error="insufficient_scope", scope="…"</c> naming the scopes that tool needs, before
/// the MCP server sees it. Clients add those scopes to the ones they hold and authorize again (SEP-2350). Every
/// message of a batch is checked.
/// </summary>
internal sealed class ToolScopeCheck(RequestDelegate next, NotesUrls urls, ILogger<ToolScopeCheck> logger)
{
    /// <summary>Larger MCP requests are refused: the biggest legitimate one is a note of 100,000 characters.</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    public async Task InvokeAsync(HttpContext context)
    {
        if (!HttpMethods.IsPost(context.Request.Method) || context.User.Identity?.IsAuthenticated != true)
        {
            await next(context);
            return;
        }

        if (await BoundedBody.ReadAsync(context.Request, MaxBodyBytes, context.RequestAborted) is not { } body)
        {
            context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            return;
        }

        // The MCP server reads the body again.
        context.Request.Body = new MemoryStream(body, writable: false);

        var granted = context.User.FindAll(Claims.Scope).SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToHashSet(StringComparer.Ordinal);
        var missing = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var tool in CalledTools(body))
        {
            if (NoteTools.RequiredScope(tool) is { } scope && !granted.Contains(scope))
            {
                missing.Add(scope);
            }
        }

        if (missing.Count == 0)
        {
            await next(context);
            return;
        }

        var scopes = string.Join(' ', missing);
        Log.InsufficientScope(logger, "tools/call", context.User.FindFirst(Claims.Email)?.Value ?? "?", scopes);
        BearerChallenge.Write(context, urls, StatusCodes.Status403Forbidden, scopes,
            ("insufficient_scope", $"This tool needs the scope {scopes}; authorize again with it."));
    }

    /// <summary>The names of the tools a JSON-RPC message or batch calls. A body that is not JSON is the MCP server's to refuse.</summary>
    internal static List<string> CalledTools(ReadOnlyMemory<byte> body)
    {
        var tools = new List<string>();
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Array)
            {
                foreach (var message in root.EnumerateArray())
                {
                    AddCalledTool(message, tools);
                }
            }
            else
            {
                AddCalledTool(root, tools);
            }
        }
        catch (JsonException)
        {
        }

        return tools;
    }

    private static void AddCalledTool(JsonElement message, List<string> tools)
    {
        if (message.ValueKind == JsonValueKind.Object &&
            message.TryGetProperty("method", out var method) && method.ValueEquals("tools/call") &&
            message.TryGetProperty("params", out var parameters) && parameters.ValueKind == JsonValueKind.Object &&
            parameters.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String)
        {
            tools.Add(name.GetString()!);
        }
    }
}
