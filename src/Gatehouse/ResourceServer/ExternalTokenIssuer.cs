using System.Collections.Concurrent;
using Gatehouse.Authorization;
using Gatehouse.Configuration;
using Gatehouse.Policy;
using Gatehouse.Proxy;
using Gatehouse.Signing;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.ResourceServer;

/// <summary>
/// The External Token (TE, seed 001) that an app behind an <c>mcp: {client: {}}</c> route receives for its signed-in
/// user: a short-lived access token (RFC 9068, ES256) whose audiences are the MCP server routes that user may reach,
/// so the app can call them through Gatehouse as the user, and list and connect them through the routes API. It
/// carries the browser session's <c>sid</c>, so signing out ends it like any token of that session.
/// </summary>
internal sealed class ExternalTokenIssuer(SigningKeyStore keys, GatewayState state, TimeProvider time)
{
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(5);

    /// <summary>The <c>client_id</c> of every TE: <c>client-route:&lt;route&gt;</c>.</summary>
    public const string ClientIdPrefix = "client-route:";

    private static readonly TimeSpan s_reuseMargin = TimeSpan.FromMinutes(1);
    private const int MaxCached = 10_000;

    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly ConcurrentDictionary<(string Credential, string Route, string Host), (string Token, DateTimeOffset ReuseUntil)> _cache = new();

    /// <summary>A TE for <paramref name="user"/> reaching the app of <paramref name="clientRoute"/>, reused while it has a minute left.</summary>
    public string Issue(GatewayUser user, HttpRequest request, CompiledRoute clientRoute)
    {
        var now = time.GetUtcNow();
        var key = (user.CredentialId, clientRoute.Route.Id, request.Host.Value ?? "");
        if (_cache.TryGetValue(key, out var cached) && cached.ReuseUntil > now)
        {
            return cached.Token;
        }

        var snapshot = state.Current;
        var expires = now + Lifetime < user.ExpiresAt ? now + Lifetime : user.ExpiresAt;
        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            ["aud"] = Audiences(snapshot, user, request),
            ["sub"] = user.Subject,
            ["email"] = user.Email,
            ["name"] = user.Name,
            ["groups"] = user.Groups.ToArray(),
            ["client_id"] = ClientIdPrefix + clientRoute.Route.Id,
            ["jti"] = Guid.NewGuid().ToString("N"),
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = expires.ToUnixTimeSeconds(),
        };
        if (user.SessionId is not null)
        {
            claims["sid"] = user.SessionId;
        }

        var current = keys.Current;
        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = McpResources.Issuer(request, snapshot.Config, clientRoute.Route),
            Claims = claims,
            TokenType = "at+jwt",
            SigningCredentials = new SigningCredentials(
                new ECDsaSecurityKey(current.SigningKey) { KeyId = current.KeyId, CryptoProviderFactory = keys.CryptoProviders }, SecurityAlgorithms.EcdsaSha256),
        });
        if (_cache.Count >= MaxCached)
        {
            _cache.Clear();
        }

        _cache[key] = (token, expires - s_reuseMargin);
        return token;
    }

    /// <summary>
    /// Every MCP server route the user's policy lets them reach (an <c>initialize</c> would be allowed), by the URL a
    /// client on this host uses: routes on the request's host by its scheme and host, others by their <c>from</c>.
    /// </summary>
    internal static string[] Audiences(GatewaySnapshot snapshot, GatewayUser user, HttpRequest request)
    {
        var audiences = new List<string>();
        foreach (var route in snapshot.Routes.Values.OrderBy(r => r.Route.Index))
        {
            if (!route.IsMcpServer || !MayReach(route, user))
            {
                continue;
            }

            audiences.Add(McpResources.MatchesHost(route.Route, request.Host)
                ? McpResources.ResourceUrl(request, snapshot.Config, route.Route)
                : route.Route.ResourceUrl(route.Route.From.Scheme, route.Route.From.Authority));
        }

        return [.. audiences];
    }

    /// <summary>Whether the user may reach the route at all: public, or its policy allows them to start a session.</summary>
    internal static bool MayReach(CompiledRoute route, GatewayUser user) =>
        route.Route.AllowPublicUnauthenticatedAccess || route.Policy.IsUnrestricted ||
        route.Policy.Evaluate(new PolicyRequest(user, HttpMethods.Post, route.Route.ResourcePath.Length == 0 ? "/" : route.Route.ResourcePath,
            "initialize", null, null, null)).Allowed;
}
