using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Server;

namespace Gatehouse.Tests.Upstream;

/// <summary>
/// An upstream MCP server with its own OAuth authorization server, both on one Kestrel on 127.0.0.1: the real MCP
/// C# SDK at <c>/mcp</c> behind a Bearer check, RFC 9728 and RFC 8414 metadata, an authorization endpoint that
/// answers at once (no login page) with <c>code</c>, <c>state</c> and <c>iss</c>, a token endpoint that checks PKCE and
/// counts refreshes, RFC 7591 registration and RFC 7009 revocation. Knobs let a test make refreshes fail.
/// </summary>
internal sealed class UpstreamOAuthServer : IAsyncDisposable
{
    public const string ClientId = "gatehouse-static";
    public const string ClientSecret = "static-secret-123";

    private readonly ConcurrentDictionary<string, CodeGrant> _codes = new();
    private readonly ConcurrentDictionary<string, string> _accessTokens = new();
    private readonly ConcurrentDictionary<string, string> _refreshTokens = new();
    private readonly ConcurrentDictionary<string, string> _registered = new();
    private int _counter;
    private int _refreshes;
    private TestUpstream? _host;

    private sealed record CodeGrant(string ClientId, string RedirectUri, string Challenge, string? Resource, string? Scope);

    /// <summary>Where the protected resource metadata lives: path-inserted (default), only at the root, or only at a hinted path.</summary>
    public string MetadataLayout { get; init; } = "path";

    /// <summary>Seconds the first access token lives; refreshed ones live <see cref="RefreshedLifetimeSeconds"/>.</summary>
    public int FirstLifetimeSeconds { get; set; } = 3600;

    public int RefreshedLifetimeSeconds { get; set; } = 3600;

    /// <summary>null: refreshes work; "invalid_grant" or "500": they fail that way.</summary>
    public string? RefreshFailure { get; set; }

    /// <summary>Whether a refresh issues a new refresh token (rotation) or none (the old one stays valid).</summary>
    public bool RotateRefreshTokens { get; set; }

    /// <summary>A scope the MCP endpoint requires beyond what it asks for first (step-up with insufficient_scope).</summary>
    public string? RequiredScope { get; set; }

    /// <summary>Whether the authorization response carries the right iss (false sends another issuer's).</summary>
    public bool SendCorrectIss { get; set; } = true;

    public int Refreshes => _refreshes;

    public ConcurrentQueue<string> AuthorizationHeadersSeen { get; } = new();

    public ConcurrentQueue<string> Revoked { get; } = new();

    public ConcurrentQueue<string> Registrations { get; } = new();

    public ConcurrentQueue<string> AuthorizeRequests { get; } = new();

    public string Origin => _host!.Origin;

    public string McpUrl => Origin + "/mcp";

    public static async Task<UpstreamOAuthServer> StartAsync(string metadataLayout = "path")
    {
        var server = new UpstreamOAuthServer { MetadataLayout = metadataLayout };
        server._host = await TestUpstream.StartAsync(server.Map, services => services
            .AddSingleton(new TestMcpServer.InstanceName("upstream"))
            .AddMcpServer()
            .WithHttpTransport(options => options.Stateless = true)
            .WithTools<TestMcpServer.EchoTools>());
        return server;
    }

    public ValueTask DisposeAsync() => _host?.DisposeAsync() ?? ValueTask.CompletedTask;

    private void Map(WebApplication app)
    {
        // A client route's app: echoes the headers it receives, so a test can read its TE.
        app.Map("/app", branch => branch.Run(context => context.Response.WriteAsJsonAsync(
            context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()))));

        app.Use(async (context, next) =>
        {
            if (!context.Request.Path.StartsWithSegments("/mcp"))
            {
                await next(context);
                return;
            }

            var authorization = context.Request.Headers.Authorization.ToString();
            AuthorizationHeadersSeen.Enqueue(authorization);
            var metadata = MetadataLayout == "hint" ? Origin + "/meta/prm" : Origin + "/.well-known/oauth-protected-resource/mcp";
            if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal) || !_accessTokens.TryGetValue(authorization[7..], out var scope))
            {
                context.Response.StatusCode = 401;
                context.Response.Headers.WWWAuthenticate = $"Bearer resource_metadata=\"{metadata}\", scope=\"mcp:read\"";
                return;
            }

            if (RequiredScope is not null && !scope.Split(' ').Contains(RequiredScope))
            {
                context.Response.StatusCode = 403;
                context.Response.Headers.WWWAuthenticate = $"Bearer error=\"insufficient_scope\", scope=\"mcp:read {RequiredScope}\", resource_metadata=\"{metadata}\"";
                return;
            }

            await next(context);
        });

        var prm = () => Results.Json(new Dictionary<string, object>
        {
            ["resource"] = McpUrl,
            ["authorization_servers"] = new[] { Origin },
            ["scopes_supported"] = new[] { "mcp:read", "mcp:write" },
        });
        switch (MetadataLayout)
        {
            case "path":
                app.MapGet("/.well-known/oauth-protected-resource/mcp", prm);
                break;
            case "root":
                app.MapGet("/.well-known/oauth-protected-resource", prm);
                break;
            default:
                app.MapGet("/meta/prm", prm);
                break;
        }

        app.MapGet("/.well-known/oauth-authorization-server", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = Origin,
            ["authorization_endpoint"] = Origin + "/authorize",
            ["token_endpoint"] = Origin + "/token",
            ["registration_endpoint"] = Origin + "/register",
            ["revocation_endpoint"] = Origin + "/revoke",
            ["response_types_supported"] = new[] { "code" },
            ["code_challenge_methods_supported"] = new[] { "S256" },
            ["token_endpoint_auth_methods_supported"] = new[] { "client_secret_basic", "client_secret_post" },
            ["authorization_response_iss_parameter_supported"] = true,
        }));

        app.MapGet("/authorize", (HttpContext context) =>
        {
            var q = context.Request.Query;
            AuthorizeRequests.Enqueue(context.Request.QueryString.Value!);
            var clientId = q["client_id"].ToString();
            if (clientId != ClientId && !_registered.ContainsKey(clientId) || q["code_challenge_method"] != "S256" || q["response_type"] != "code")
            {
                return Results.BadRequest("bad authorization request");
            }

            var code = "code-" + Interlocked.Increment(ref _counter);
            _codes[code] = new CodeGrant(clientId, q["redirect_uri"]!, q["code_challenge"]!, q["resource"], q["scope"]);
            var iss = SendCorrectIss ? Origin : "https://evil.example";
            return Results.Redirect($"{q["redirect_uri"]}?code={code}&state={Uri.EscapeDataString(q["state"]!)}&iss={Uri.EscapeDataString(iss)}");
        });

        app.MapPost("/register", async (HttpContext context) =>
        {
            using var body = await System.Text.Json.JsonDocument.ParseAsync(context.Request.Body);
            var id = "dcr-" + Interlocked.Increment(ref _counter);
            var secret = "dcr-secret-" + _counter;
            _registered[id] = secret;
            Registrations.Enqueue(id);
            return Results.Json(new Dictionary<string, object>
            {
                ["client_id"] = id,
                ["client_secret"] = secret,
                ["redirect_uris"] = body.RootElement.GetProperty("redirect_uris").EnumerateArray().Select(u => u.GetString()).ToArray(),
                ["token_endpoint_auth_method"] = "client_secret_basic",
            }, statusCode: 201);
        });

        app.MapPost("/token", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            if (!Authenticated(context, form))
            {
                return Results.Json(new { error = "invalid_client" }, statusCode: 401);
            }

            if (form["grant_type"] == "authorization_code")
            {
                if (!_codes.TryRemove(form["code"]!, out var grant) || grant.RedirectUri != form["redirect_uri"] ||
                    grant.Challenge != Base64Url(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"]!))))
                {
                    return Results.Json(new { error = "invalid_grant" }, statusCode: 400);
                }

                return Issue(grant.Scope ?? "mcp:read", FirstLifetimeSeconds, newRefresh: true);
            }

            if (form["grant_type"] == "refresh_token")
            {
                Interlocked.Increment(ref _refreshes);
                if (RefreshFailure == "500")
                {
                    return Results.StatusCode(500);
                }

                if (RefreshFailure == "invalid_grant" || !_refreshTokens.TryGetValue(form["refresh_token"]!, out var scope))
                {
                    return Results.Json(new { error = "invalid_grant" }, statusCode: 400);
                }

                if (RotateRefreshTokens)
                {
                    _refreshTokens.TryRemove(form["refresh_token"]!, out _);
                }

                return Issue(scope, RefreshedLifetimeSeconds, RotateRefreshTokens);
            }

            return Results.Json(new { error = "unsupported_grant_type" }, statusCode: 400);
        });

        app.MapMcp("/mcp");

        app.MapPost("/revoke", async (HttpContext context) =>
        {
            var form = await context.Request.ReadFormAsync();
            Revoked.Enqueue(form["token"]!);
            _refreshTokens.TryRemove(form["token"]!, out _);
            _accessTokens.TryRemove(form["token"]!, out _);
            return Results.Ok();
        });
    }

    private IResult Issue(string scope, int lifetime, bool newRefresh)
    {
        var n = Interlocked.Increment(ref _counter);
        var access = $"upstream-at-{n}";
        _accessTokens[access] = scope;
        var body = new Dictionary<string, object> { ["access_token"] = access, ["token_type"] = "Bearer", ["expires_in"] = lifetime, ["scope"] = scope };
        if (newRefresh)
        {
            var refresh = $"upstream-rt-{n}";
            _refreshTokens[refresh] = scope;
            body["refresh_token"] = refresh;
        }

        return Results.Json(body);
    }

    /// <summary>The static client, or a registered one, by Basic or by form fields.</summary>
    private bool Authenticated(HttpContext context, IFormCollection form)
    {
        string? id = form["client_id"], secret = form["client_secret"];
        var header = context.Request.Headers.Authorization.ToString();
        if (header.StartsWith("Basic ", StringComparison.Ordinal))
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..])).Split(':', 2);
            (id, secret) = (Uri.UnescapeDataString(parts[0]), Uri.UnescapeDataString(parts[1]));
        }

        return id == ClientId ? secret == ClientSecret : id is not null && _registered.TryGetValue(id, out var expected) && expected == secret;
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
