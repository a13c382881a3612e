using Gatehouse.Proxy;
using Gatehouse.Revocation;
using Gatehouse.Storage;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Authorization;

/// <summary>
/// OpenIddict's application manager with Gatehouse's redirect URI rule: exact match, except that a loopback http
/// URI may use any port (RFC 8252 §7.3), whatever port was registered, as native MCP clients bind a free one.
/// </summary>
internal sealed class GatehouseApplicationManager(
    IOpenIddictApplicationCache<OpenIddictEntityFrameworkCoreApplication> cache,
    ILogger<OpenIddictApplicationManager<OpenIddictEntityFrameworkCoreApplication>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictApplicationStore<OpenIddictEntityFrameworkCoreApplication> store)
    : OpenIddictApplicationManager<OpenIddictEntityFrameworkCoreApplication>(cache, logger, options, store)
{
    public override async ValueTask<bool> ValidateRedirectUriAsync(OpenIddictEntityFrameworkCoreApplication application, string uri, CancellationToken cancellationToken = default)
    {
        foreach (var registered in await GetRedirectUrisAsync(application, cancellationToken))
        {
            if (RedirectUriRules.Matches(registered, uri))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// OpenIddict's token manager, telling the gateway about every revocation it makes: RFC 7009 revocation of one
/// token, and a whole grant revoked when a used refresh token or code is replayed (OAuth 2.1 §4.3.1). The gateway
/// checks access tokens in memory, so without this a revoked token would still pass until it expired.
/// </summary>
internal sealed class GatehouseTokenManager(
    IOpenIddictTokenCache<OpenIddictEntityFrameworkCoreToken> cache,
    ILogger<OpenIddictTokenManager<OpenIddictEntityFrameworkCoreToken>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictTokenStore<OpenIddictEntityFrameworkCoreToken> store,
    RevocationList revocations,
    GatewayState state,
    TimeProvider time)
    : OpenIddictTokenManager<OpenIddictEntityFrameworkCoreToken>(cache, logger, options, store)
{
    public override async ValueTask<long> RevokeByAuthorizationIdAsync(string identifier, CancellationToken cancellationToken = default)
    {
        var count = await base.RevokeByAuthorizationIdAsync(identifier, cancellationToken);
        await revocations.RevokeAsync(RevocationKinds.Authorization, identifier, GrantsEndBy(), cancellationToken);
        return count;
    }

    public override async ValueTask<bool> TryRevokeAsync(OpenIddictEntityFrameworkCoreToken token, CancellationToken cancellationToken = default)
    {
        if (!await base.TryRevokeAsync(token, cancellationToken))
        {
            return false;
        }

        var type = await GetTypeAsync(token, cancellationToken);
        var authorizationId = await GetAuthorizationIdAsync(token, cancellationToken);
        if (type is TokenTypeHints.RefreshToken or TokenTypeIdentifiers.RefreshToken && authorizationId is not null)
        {
            // RFC 7009 §2.1: revoking a refresh token should also invalidate the access tokens of the same grant.
            await RevokeByAuthorizationIdAsync(authorizationId, cancellationToken);
        }
        else if (await GetIdAsync(token, cancellationToken) is { } id)
        {
            var expires = await GetExpirationDateAsync(token, cancellationToken) ?? GrantsEndBy();
            await revocations.RevokeAsync(RevocationKinds.Token, id, expires, cancellationToken);
        }

        return true;
    }

    /// <summary>Nothing from a grant revoked now can be valid after this.</summary>
    private DateTimeOffset GrantsEndBy() => time.GetUtcNow() + state.Current.Config.AuthorizationServer.RefreshTokenLifetime;
}
