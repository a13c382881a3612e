using Gatehouse.Authorization.ClientMetadata;
using Gatehouse.Configuration;
using Gatehouse.Revocation;
using Gatehouse.Storage;
using Microsoft.Extensions.Options;
using OpenIddict.EntityFrameworkCore.Models;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Authorization;

/// <summary>
/// The OAuth 2.1 authorization server for MCP clients, on OpenIddict 7: discovery (RFC 8414 and OpenID Connect),
/// authorization code with PKCE S256 only, rotating refresh tokens with replay detection, revocation (RFC 7009),
/// introspection (RFC 7662), resource indicators (RFC 8707) bound to MCP server routes, Client ID Metadata
/// Documents and optional dynamic registration (RFC 7591).
/// </summary>
/// <remarks>
/// The issuer is the origin the client used (no fixed issuer): each host that serves MCP routes is its own
/// authorization server, as each route's protected resource metadata says (RFC 9728 §2). OpenIddict checks the
/// issuer of every code and refresh token against the request's origin, so a grant made on one host cannot be
/// redeemed on another.
/// </remarks>
internal static class AuthorizationServerExtensions
{
    public const string Prefix = "/.gatehouse/oauth";
    public const string AuthorizePath = Prefix + "/authorize";
    public const string TokenPath = Prefix + "/token";
    public const string RevokePath = Prefix + "/revoke";
    public const string IntrospectPath = Prefix + "/introspect";
    public const string JwksPath = Prefix + "/jwks";
    public const string RegisterPath = Prefix + "/register";
    public const string OpenIdConfigurationPath = "/.well-known/openid-configuration";
    public const string OAuthMetadataPath = "/.well-known/oauth-authorization-server";

    /// <summary>
    /// Scopes the server grants. None is needed to call an MCP server (the audience decides); these are OpenID
    /// Connect's, so clients that ask for them get what they expect, and <c>offline_access</c> for refresh tokens.
    /// </summary>
    public static readonly string[] SupportedScopes = [Scopes.OpenId, Scopes.Profile, Scopes.Email, Scopes.OfflineAccess];

    public static IServiceCollection AddGatehouseAuthorizationServer(this IServiceCollection services, GatewayConfig config)
    {
        services.AddSingleton<RevocationList>();
        services.AddHostedService<RevocationPoller>();
        services.AddSingleton<OAuthKeys>();
        services.AddSingleton<ConsentStore>();
        services.AddSingleton<ClientRegistrations>();
        services.AddClientIdMetadataDocuments();
        // After StorageInitializer (registered earlier): keys, revocations and configured clients are loaded before
        // Kestrel opens, since hosted services start in order and all of them before the server.
        services.AddHostedService<AuthorizationServerInitializer>();
        services.AddSingleton<GrantPruner>();
        services.AddHostedService(sp => sp.GetRequiredService<GrantPruner>());
        services.AddSingleton<IOptionsChangeTokenSource<OpenIddictServerOptions>>(sp => sp.GetRequiredService<OAuthKeys>());
        services.AddSingleton<IConfigureOptions<OpenIddictServerOptions>>(sp => sp.GetRequiredService<OAuthKeys>());

        var settings = config.AuthorizationServer;
        services.AddOpenIddict()
            .AddCore(core =>
            {
                core.UseEntityFrameworkCore().UseDbContext<GatehouseDbContext>();
                core.ReplaceApplicationManager<OpenIddictEntityFrameworkCoreApplication, GatehouseApplicationManager>();
                core.ReplaceTokenManager<OpenIddictEntityFrameworkCoreToken, GatehouseTokenManager>();
            })
            .AddServer(server =>
            {
                server.SetAuthorizationEndpointUris(AuthorizePath[1..])
                    .SetTokenEndpointUris(TokenPath[1..])
                    .SetRevocationEndpointUris(RevokePath[1..])
                    .SetIntrospectionEndpointUris(IntrospectPath[1..])
                    .SetJsonWebKeySetEndpointUris(JwksPath[1..])
                    .SetConfigurationEndpointUris(OpenIdConfigurationPath[1..], OAuthMetadataPath[1..]);

                server.AllowAuthorizationCodeFlow().AllowRefreshTokenFlow();

                // OAuth 2.1 §4.1.1 and MCP authorization: PKCE with S256 for every client; `plain` is refused.
                server.RequireProofKeyForCodeExchange();
                server.Configure(options => options.CodeChallengeMethods.Remove(CodeChallengeMethods.Plain));

                // RFC 9068 access tokens: signed JWTs the gateway verifies in memory, not JWEs only OpenIddict can read.
                server.DisableAccessTokenEncryption();
                server.SetAccessTokenLifetime(settings.AccessTokenLifetime)
                    .SetRefreshTokenLifetime(settings.RefreshTokenLifetime)
                    .SetAuthorizationCodeLifetime(TimeSpan.FromMinutes(5));

                // A grant ends refresh_token_lifetime after the user approved it: rotation does not extend it.
                server.DisableSlidingRefreshTokenExpiration();
                server.SetRefreshTokenReuseLeeway(settings.RefreshTokenReuseLeeway == TimeSpan.Zero ? null : settings.RefreshTokenReuseLeeway);

                server.RegisterScopes(SupportedScopes);
                // Unknown scopes are not an error (clients ask for what a server's metadata lists); only supported
                // scopes are ever granted (AuthorizeEndpoint).
                server.DisableScopeValidation().IgnoreScopePermissions();

                // OpenIddict compares `resource` as Uri.AbsoluteUri, which refuses MCP's canonical form (no trailing
                // slash); ResourceIndicatorHandlers resolve resources against the MCP server routes instead.
                server.DisableResourceValidation().IgnoreResourcePermissions();

                // Transport security is the listener's: plain HTTP is refused at start-up except on loopback or behind
                // a proxy that ends TLS (insecure_server), and then OpenIddict would see http for an https client.
                server.UseAspNetCore()
                    .EnableAuthorizationEndpointPassthrough()
                    .EnableTokenEndpointPassthrough()
                    .EnableErrorPassthrough()
                    .DisableTransportSecurityRequirement()
                    .SetRealm("gatehouse");

                // Clients authenticate with a secret or not at all (public clients with PKCE): no private_key_jwt.
                server.Configure(options => options.ClientAuthenticationMethods.Remove(ClientAuthenticationMethods.PrivateKeyJwt));

                ResourceIndicatorHandlers.Register(server);
                ClientMetadataDocumentHandler.Register(server);
                IntrospectionHandlers.Register(server);
                DiscoveryHandlers.Register(server);
            });

        return services;
    }

    /// <summary>
    /// Whether a request is for OpenIddict (its server, or its client's redirection endpoint for <c>provider: oidc</c>):
    /// only these run the (costly) authentication middleware.
    /// </summary>
    public static bool IsAuthorizationServerPath(PathString path) =>
        path.StartsWithSegments(Prefix, StringComparison.OrdinalIgnoreCase) ||
        path.StartsWithSegments(SignIn.Oidc.OidcSignIn.Prefix, StringComparison.OrdinalIgnoreCase) ||
        path.Equals(OpenIdConfigurationPath, StringComparison.OrdinalIgnoreCase) ||
        path.Equals(OAuthMetadataPath, StringComparison.OrdinalIgnoreCase);

    private const string AuthenticationMiddlewareSetKey = "__AuthenticationMiddlewareSet";

    public static IApplicationBuilder UseGatehouseAuthorizationServer(this IApplicationBuilder app)
    {
        // MCP 2025-03-26 clients without metadata discovery use /authorize, /token and /register at the server's origin.
        app.UseMiddleware<LegacyEndpointRewriter>();

        // OpenIddict runs inside the authentication middleware, which would otherwise run on every proxied request.
        // WebApplication adds UseAuthentication() at the head of the pipeline when the application did not call it,
        // and the call in the branch below does not count (a UseWhen branch writes to its own copy of the builder's
        // properties): without this flag the middleware ran on every request, and twice on these paths. The key is
        // AuthAppBuilderExtensions'.
        app.Properties[AuthenticationMiddlewareSetKey] = true;
        // The OpenID Connect sign-in page joins them while `idp.provider` is `oidc`: its challenge needs the OpenIddict
        // client's per-request transaction, which that middleware creates.
        var state = app.ApplicationServices.GetRequiredService<Proxy.GatewayState>();
        app.UseWhen(context => IsAuthorizationServerPath(context.Request.Path) || SignIn.Oidc.OidcSignIn.IsChallengeRequest(context, state), branch =>
        {
            branch.UseMiddleware<AuthorizationServerGate>();
            branch.UseAuthentication();
        });

        return app;
    }

    public static IEndpointRouteBuilder MapGatehouseAuthorizationServer(this IEndpointRouteBuilder endpoints)
    {
        AuthorizeEndpoint.Map(endpoints);
        TokenEndpoint.Map(endpoints);
        ClientRegistrationEndpoint.Map(endpoints);
        ConnectedAppsPage.Map(endpoints);
        return endpoints;
    }
}
