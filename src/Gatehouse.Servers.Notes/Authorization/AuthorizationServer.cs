using Gatehouse.Servers.Notes.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.EntityFrameworkCore.Models;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Servers.Notes.Authorization;

/// <summary>
/// The OAuth 2.1 authorization server, on OpenIddict: RFC 8414 and OpenID Connect discovery, the authorization code
/// flow with PKCE S256 only, rotating refresh tokens whose replay revokes the grant, RFC 9068 JWT access tokens
/// (ES256) bound to the MCP endpoint by RFC 8707 resource indicators, the <c>iss</c> authorization response
/// parameter (RFC 9207), revocation (RFC 7009) and dynamic client registration (RFC 7591).
/// </summary>
internal static class AuthorizationServer
{
    public const string AuthorizePath = "/authorize";
    public const string TokenPath = "/token";
    public const string RegisterPath = "/register";
    public const string RevokePath = "/revoke";
    public const string JwksPath = "/.well-known/jwks.json";
    public const string OAuthMetadataPath = "/.well-known/oauth-authorization-server";
    public const string OpenIdConfigurationPath = "/.well-known/openid-configuration";

    public static IServiceCollection AddNotesAuthorizationServer(this IServiceCollection services, NotesServerOptions options, NotesKeys keys)
    {
        services.AddScoped<ClientStore>();
        services.AddOpenIddict()
            .AddCore(core =>
            {
                core.UseEntityFrameworkCore().UseDbContext<NotesDbContext>();
                core.ReplaceApplicationManager<OpenIddictEntityFrameworkCoreApplication, NotesApplicationManager>();
            })
            .AddServer(server =>
            {
                // A root issuer, so the metadata sits at /.well-known/oauth-authorization-server as MCP clients look
                // for it (RFC 8414 §3.1). Without a public URL, OpenIddict takes the request's origin.
                if (options.PublicUrl is { } publicUrl)
                {
                    server.SetIssuer(new Uri(publicUrl.GetLeftPart(UriPartial.Authority) + "/"));
                }

                // The paths of MCP 2025-03-26's "default endpoints", so clients that predate metadata discovery work too.
                server.SetAuthorizationEndpointUris(AuthorizePath[1..])
                    .SetTokenEndpointUris(TokenPath[1..])
                    .SetRevocationEndpointUris(RevokePath[1..])
                    .SetJsonWebKeySetEndpointUris(JwksPath[1..])
                    .SetConfigurationEndpointUris(OAuthMetadataPath[1..], OpenIdConfigurationPath[1..]);

                server.AllowAuthorizationCodeFlow().AllowRefreshTokenFlow();

                // OAuth 2.1 §4.1.1 and MCP authorization: PKCE for every client, S256 only (OpenIddict allows plain).
                server.RequireProofKeyForCodeExchange();
                server.Configure(o =>
                {
                    o.CodeChallengeMethods.Remove(CodeChallengeMethods.Plain);
                    // A secret or nothing (public clients with PKCE).
                    o.ClientAuthenticationMethods.Remove(ClientAuthenticationMethods.PrivateKeyJwt);
                });

                // Keys generated once and kept in notes.db: tokens stay valid across restarts.
                server.AddSigningKey(keys.SigningKey).AddEncryptionKey(keys.EncryptionKey);

                // RFC 9068: a signed JWT the resource server reads, not a JWE only OpenIddict can open.
                server.DisableAccessTokenEncryption();
                server.SetAccessTokenLifetime(options.AccessTokenLifetime)
                    .SetRefreshTokenLifetime(options.RefreshTokenLifetime)
                    .SetAuthorizationCodeLifetime(TimeSpan.FromMinutes(5))
                    .SetIdentityTokenLifetime(TimeSpan.FromMinutes(10));
                server.DisableSlidingRefreshTokenExpiration();
                server.SetRefreshTokenReuseLeeway(options.RefreshTokenReuseLeeway == TimeSpan.Zero ? null : options.RefreshTokenReuseLeeway);

                server.RegisterScopes([.. NotesScopes.Supported]);
                // Unknown scopes are ignored rather than refused (NotesScopes.Grantable), and every client may ask
                // for every scope.
                server.DisableScopeValidation().IgnoreScopePermissions();

                // OpenIddict compares resources as Uri.AbsoluteUri, which refuses the MCP canonical form; the
                // handlers of ResourceIndicators check them against the MCP endpoint instead.
                server.DisableResourceValidation().IgnoreResourcePermissions();

                // Transport security is the listener's business: loopback http, or PublicUrl behind TLS (checked in
                // NotesServerOptions), where OpenIddict would see http for an https client.
                server.UseAspNetCore()
                    .EnableAuthorizationEndpointPassthrough()
                    .EnableTokenEndpointPassthrough()
                    .EnableErrorPassthrough()
                    .DisableTransportSecurityRequirement();

                ResourceIndicators.Register(server);
                DiscoveryMetadata.Register(server);
            });

        return services;
    }

    public static IEndpointRouteBuilder MapNotesAuthorizationServer(this IEndpointRouteBuilder endpoints)
    {
        AuthorizeEndpoint.Map(endpoints);
        TokenEndpoint.Map(endpoints);
        RegistrationEndpoint.Map(endpoints);
        return endpoints;
    }

    /// <summary>
    /// An OAuth error from a passthrough endpoint, sent the way that endpoint requires: a redirect to the client's
    /// validated redirect URI from /authorize (RFC 6749 §4.1.2.1), JSON from /token (§5.2).
    /// </summary>
    public static ForbidHttpResult Refuse(string error, string description) =>
        TypedResults.Forbid(
            new AuthenticationProperties(new Dictionary<string, string?>
            {
                [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
                [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
            }),
            [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
}
