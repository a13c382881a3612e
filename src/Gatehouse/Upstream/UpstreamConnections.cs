using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Proxy;
using Gatehouse.Storage;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.EntityFrameworkCore;

namespace Gatehouse.Upstream;

/// <summary>What the request path gets for one user and route.</summary>
internal enum UpstreamTokenOutcome
{
    /// <summary>The route needs no upstream token (as far as anyone knows yet).</summary>
    NotNeeded,

    /// <summary><see cref="UpstreamTokenResult.AccessToken"/> is the TI to send.</summary>
    Token,

    /// <summary>The user has not connected, or must connect again (invalid_grant, wider scope needed).</summary>
    NotConnected,

    /// <summary>The provider could not refresh the token now (5xx, network): nothing was deleted.</summary>
    Unavailable,
}

internal readonly record struct UpstreamTokenResult(UpstreamTokenOutcome Outcome, string? AccessToken = null, string? Reason = null);

/// <summary>
/// The token vault and the flows around it (docs/upstream-oauth.md): connecting a user to a route's upstream
/// (authorization code with PKCE S256 and RFC 8707 <c>resource</c>), keeping the token set encrypted with Data
/// Protection, handing the request path a fresh TI (refreshed ahead of expiry, one refresh at a time per record
/// across replicas), and disconnecting (RFC 7009 revocation when offered).
/// </summary>
internal sealed partial class UpstreamConnections(
    IServiceScopeFactory scopes, IDataProtectionProvider dataProtection, GatewayState state, UpstreamDiscovery discovery,
    UpstreamTokenClient tokenClient, TimeProvider time, ILogger<UpstreamConnections> logger) : IUpstreamConnections
{
    public const string CallbackPath = "/.gatehouse/mcp/client/oauth/callback";
    public const string ClientMetadataPath = "/.gatehouse/mcp/client/metadata.json";

    /// <summary>Long enough for a user to sign in at the provider and consent; short enough that a leaked state is useless.</summary>
    private static readonly TimeSpan s_pendingLifetime = TimeSpan.FromMinutes(10);

    /// <summary>How long one replica may hold a record's refresh lease before another may take over.</summary>
    private static readonly TimeSpan s_leaseFor = TimeSpan.FromSeconds(30);

    /// <summary>How long a replica remembers what it read from the vault, to spare the database on every request.</summary>
    private static readonly TimeSpan s_readCacheFor = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_routeCheckFor = TimeSpan.FromSeconds(30);

    private readonly ITimeLimitedDataProtector _stateProtector = dataProtection.CreateProtector("Gatehouse.Upstream.PendingAuthorization.v1").ToTimeLimitedDataProtector();
    private readonly IDataProtector _vaultProtector = dataProtection.CreateProtector("Gatehouse.Upstream.TokenVault.v1");
    private readonly IDataProtector _secretProtector = dataProtection.CreateProtector("Gatehouse.Upstream.ClientSecrets.v1");
    private readonly ConcurrentDictionary<(string Subject, string RouteId), SemaphoreSlim> _refreshLocks = new();
    private readonly ConcurrentDictionary<(string Subject, string RouteId), CachedRead> _reads = new();
    private readonly ConcurrentDictionary<string, DateTimeOffset> _noConnectionsUntil = new(StringComparer.Ordinal);

    private sealed record CachedRead(UpstreamToken? Record, string? AccessToken, DateTimeOffset Until);

    public async ValueTask<UpstreamStatus> GetStatusAsync(string subject, CompiledRoute route, CancellationToken cancellationToken, bool discover = true)
    {
        if (!route.IsMcpServer || route.Route.AllowPublicUnauthenticatedAccess)
        {
            return UpstreamStatus.NotNeeded;
        }

        var record = await FindAsync(subject, route.Route.Id, cancellationToken);
        if (record is null)
        {
            var needs = discover
                ? await discovery.NeedsOAuthAsync(route.Route, OutboundPolicy.For(route.Route, state.Current.Config), cancellationToken)
                : discovery.IsKnown(route.Route);
            return needs
                ? new UpstreamStatus(true, false, null)
                : UpstreamStatus.NotNeeded;
        }

        return new UpstreamStatus(true, !record.Disconnected, record.Disconnected ? null : record.ExpiresAt);
    }

    public async Task<Uri> BeginConnectAsync(HttpContext context, string subject, CompiledRoute route, string returnUrl, CancellationToken cancellationToken)
    {
        var config = state.Current.Config;
        var policy = OutboundPolicy.For(route.Route, config);
        var server = await discovery.DiscoverAsync(route.Route, policy, challenge: null, cancellationToken)
            ?? throw new UpstreamOAuthException(UpstreamFailure.Discovery, $"The MCP server of {route.Route.Id} does not ask for OAuth");
        var existing = await FindAsync(subject, route.Route.Id, cancellationToken);
        var redirectUri = string.Concat(context.Request.Scheme, "://", context.Request.Host.Value, CallbackPath);
        var client = await ResolveClientAsync(route.Route, server, policy, context.Request, redirectUri, cancellationToken);
        var scopes = ChooseScopes(route.Route, server, existing);

        var verifier = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var payload = new PendingAuthorizationPayload
        {
            Subject = subject,
            RouteId = route.Route.Id,
            ResourceKey = server.ResourceKey,
            Resource = server.Resource,
            Issuer = server.Issuer,
            IssRequired = server.IssParameterSupported,
            TokenEndpoint = server.TokenEndpoint.AbsoluteUri,
            RevocationEndpoint = server.RevocationEndpoint?.AbsoluteUri,
            CodeVerifier = verifier,
            ClientId = client.ClientId,
            ClientKind = client.Kind,
            TokenEndpointAuthMethod = client.TokenEndpointAuthMethod,
            RedirectUri = redirectUri,
            ReturnUrl = returnUrl,
            Scopes = scopes,
            Nonce = WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(16)),
        };
        var stateValue = _stateProtector.Protect(JsonSerializer.Serialize(payload, UpstreamJsonContext.Default.PendingAuthorizationPayload), s_pendingLifetime);

        // RFC 7636 §4.2 S256; RFC 8707 §2 resource; MCP authorization requires both.
        var parameters = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (name, value) in route.Route.McpServer?.UpstreamOAuth2?.AuthorizationUrlParams ?? new Dictionary<string, string>())
        {
            parameters[name] = value;
        }

        parameters["response_type"] = "code";
        parameters["client_id"] = client.ClientId;
        parameters["redirect_uri"] = redirectUri;
        parameters["state"] = stateValue;
        parameters["code_challenge"] = WebEncoders.Base64UrlEncode(SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(verifier)));
        parameters["code_challenge_method"] = "S256";
        if (scopes.Count > 0)
        {
            parameters["scope"] = string.Join(' ', scopes);
        }

        if (server.Resource is not null)
        {
            parameters["resource"] = server.Resource;
        }

        LogConnectStarted(logger, route.Route.Id, server.Issuer, client.Kind);
        return new Uri(QueryHelpers.AddQueryString(server.AuthorizationEndpoint.AbsoluteUri, parameters));
    }

    /// <summary>
    /// The callback's work (RFC 6749 §4.1.2, RFC 9207 §2.4): checks <c>state</c> (and that the same user is signed in),
    /// then <c>iss</c>, exchanges the code and stores the tokens. Returns where to send the browser.
    /// </summary>
    public async Task<string> CompleteAsync(string? stateValue, string? code, string? iss, string? error, string? signedInSubject, CancellationToken cancellationToken)
    {
        PendingAuthorizationPayload? payload = null;
        try
        {
            payload = stateValue is null ? null : JsonSerializer.Deserialize(_stateProtector.Unprotect(stateValue), UpstreamJsonContext.Default.PendingAuthorizationPayload);
        }
        catch (Exception ex) when (ex is CryptographicException or JsonException or FormatException)
        {
        }

        if (payload is null)
        {
            throw new UpstreamOAuthException(UpstreamFailure.Callback, "The authorization response's state is missing, expired or not from this gateway", "invalid_state");
        }

        string Fail(string reason, string errorCode)
        {
            LogCallbackRefused(logger, payload.RouteId, reason);
            return WithError(payload.ReturnUrl, errorCode);
        }

        // RFC 9700 §4.7 (CSRF): the browser finishing the flow must be the user's who started it.
        if (!string.Equals(signedInSubject, payload.Subject, StringComparison.Ordinal))
        {
            return Fail("the signed-in user is not the one who started connecting", "session_mismatch");
        }

        // RFC 9207 §2.4: refuse a response from another issuer (mix-up attack), and one without iss when the
        // authorization server said it always sends it.
        if (iss is not null ? !string.Equals(iss, payload.Issuer, StringComparison.Ordinal) : payload.IssRequired)
        {
            return Fail("the authorization response's iss does not name the authorization server asked", "iss_mismatch");
        }

        if (error is not null || code is null)
        {
            return Fail($"the authorization server answered {error ?? "without a code"}", error is not null && IsToken(error) ? error : "invalid_response");
        }

        var route = state.Current.Routes.GetValueOrDefault(payload.RouteId);
        if (route is null)
        {
            return Fail("the route is no longer configured", "unknown_route");
        }

        var policy = OutboundPolicy.For(route.Route, state.Current.Config);
        var client = await EndpointClientAsync(route.Route, payload.Issuer, payload.RedirectUri, new Uri(payload.TokenEndpoint), payload.ClientId, payload.ClientKind, payload.TokenEndpointAuthMethod, payload.Resource, cancellationToken);
        UpstreamTokenSet tokens;
        try
        {
            tokens = await tokenClient.ExchangeCodeAsync(client, policy, code, payload.RedirectUri, payload.CodeVerifier, cancellationToken);
        }
        catch (UpstreamOAuthException ex)
        {
            return Fail(ex.Message, ex.Failure == UpstreamFailure.Unavailable ? "temporarily_unavailable" : "token_exchange_failed");
        }

        await SaveAsync(payload, tokens, cancellationToken);
        LogConnected(logger, payload.RouteId, payload.Issuer);
        return payload.ReturnUrl;
    }

    private async Task SaveAsync(PendingAuthorizationPayload payload, UpstreamTokenSet tokens, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var record = await db.UpstreamTokens.FirstOrDefaultAsync(
            t => t.Subject == payload.Subject && t.RouteId == payload.RouteId && t.ResourceKey == payload.ResourceKey, cancellationToken);
        if (record is null)
        {
            record = new UpstreamToken
            {
                Subject = payload.Subject,
                RouteId = payload.RouteId,
                ResourceKey = payload.ResourceKey,
                Issuer = payload.Issuer,
                TokenEndpoint = payload.TokenEndpoint,
                ClientId = payload.ClientId,
                ProtectedTokens = "",
            };
            db.UpstreamTokens.Add(record);
        }

        record.Issuer = payload.Issuer;
        record.TokenEndpoint = payload.TokenEndpoint;
        record.RevocationEndpoint = payload.RevocationEndpoint;
        record.ClientId = payload.ClientId;
        record.ClientKind = payload.ClientKind;
        record.AuthMethod = payload.TokenEndpointAuthMethod;
        record.Resource = payload.Resource;
        record.Scopes = tokens.Scope ?? string.Join(' ', payload.Scopes);
        Store(record, tokens);
        record.Disconnected = false;
        record.RefreshLeaseUntil = null;
        await db.SaveChangesAsync(cancellationToken);

        // Another resource key of the same route (the upstream moved to another authorization server) is stale now.
        await db.UpstreamTokens.Where(t => t.Subject == payload.Subject && t.RouteId == payload.RouteId && t.Id != record.Id).ExecuteDeleteAsync(cancellationToken);
        _reads.TryRemove((payload.Subject, payload.RouteId), out _);
        discovery.MarkNeedsOAuth(payload.RouteId);
    }

    private void Store(UpstreamToken record, UpstreamTokenSet tokens)
    {
        var stored = new StoredTokenSet { AccessToken = tokens.AccessToken, RefreshToken = tokens.RefreshToken, TokenType = tokens.TokenType };
        record.ProtectedTokens = _vaultProtector.Protect(JsonSerializer.Serialize(stored, UpstreamJsonContext.Default.StoredTokenSet));
        record.ExpiresAt = tokens.ExpiresAt;
        record.UpdatedAt = time.GetUtcNow();
    }

    private StoredTokenSet Unprotect(UpstreamToken record) =>
        JsonSerializer.Deserialize(_vaultProtector.Unprotect(record.ProtectedTokens), UpstreamJsonContext.Default.StoredTokenSet)!;

    /// <summary>
    /// The TI for a proxied request. Refreshed when it expires within the configured skew; concurrent requests for one
    /// record wait for a single refresh (a SemaphoreSlim here, a lease row across replicas).
    /// </summary>
    public async ValueTask<UpstreamTokenResult> GetAccessTokenAsync(string subject, GatewayRoute route, CancellationToken cancellationToken)
    {
        // Most MCP routes have no upstream OAuth: decide that per route, not with a vault read per user and route.
        if (!discovery.IsKnown(route) && !await RouteHasConnectionsAsync(route.Id, cancellationToken))
        {
            return new(UpstreamTokenOutcome.NotNeeded);
        }

        var key = (subject, route.Id);
        var now = time.GetUtcNow();
        var skew = state.Current.Config.UpstreamTokenRefreshSkew;
        if (_reads.TryGetValue(key, out var cached) && cached.Until > now && (cached.Record?.ExpiresAt is null || cached.Record.ExpiresAt > now + skew))
        {
            return Outcome(cached, route);
        }

        var record = await FindAsync(subject, route.Id, cancellationToken);
        if (record is null || record.Disconnected || record.ExpiresAt is null || record.ExpiresAt > now + skew)
        {
            var read = new CachedRead(record, record is { Disconnected: false } ? Unprotect(record).AccessToken : null, now + s_readCacheFor);
            _reads[key] = read;
            return Outcome(read, route);
        }

        var gate = _refreshLocks.GetOrAdd(key, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            return await RefreshLockedAsync(key, route, skew, cancellationToken);
        }
        finally
        {
            gate.Release();
        }
    }

    private UpstreamTokenResult Outcome(CachedRead read, GatewayRoute route) => read switch
    {
        { AccessToken: { } token } => new(UpstreamTokenOutcome.Token, token),
        { Record: { Disconnected: true } } => new(UpstreamTokenOutcome.NotConnected, Reason: "the connection to the upstream's authorization server ended"),
        _ => discovery.IsKnown(route) ? new(UpstreamTokenOutcome.NotConnected, Reason: "the user has not connected") : new(UpstreamTokenOutcome.NotNeeded),
    };

    private async Task<UpstreamTokenResult> RefreshLockedAsync((string Subject, string RouteId) key, GatewayRoute route, TimeSpan skew, CancellationToken cancellationToken)
    {
        var deadline = time.GetUtcNow() + UpstreamHttp.Timeout + TimeSpan.FromSeconds(5);
        while (true)
        {
            var record = await FindAsync(key.Subject, key.RouteId, cancellationToken);
            var now = time.GetUtcNow();
            if (record is null || record.Disconnected || record.ExpiresAt is null || record.ExpiresAt > now + skew)
            {
                // Someone (this process or another replica) refreshed or disconnected it meanwhile.
                var read = new CachedRead(record, record is { Disconnected: false } ? Unprotect(record).AccessToken : null, now + s_readCacheFor);
                _reads[key] = read;
                return Outcome(read, route);
            }

            if (await TryTakeLeaseAsync(record, now, cancellationToken))
            {
                return await RefreshAsync(record, route, key, cancellationToken);
            }

            // Another replica holds the lease: its refresh will show up in the record.
            if (now > deadline)
            {
                return record.ExpiresAt > now
                    ? new UpstreamTokenResult(UpstreamTokenOutcome.Token, Unprotect(record).AccessToken)
                    : new UpstreamTokenResult(UpstreamTokenOutcome.Unavailable, Reason: "another gateway replica is still refreshing the upstream token");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), time, cancellationToken);
        }
    }

    /// <summary>
    /// A conditional UPDATE: exactly one replica wins a free (or abandoned) lease, and only on the version of the record
    /// it read (<see cref="UpstreamToken.UpdatedAt"/>): a replica that read the record before another one's refresh
    /// was saved must not refresh again with the refresh token that refresh may have used up.
    /// </summary>
    private async Task<bool> TryTakeLeaseAsync(UpstreamToken record, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var until = now + s_leaseFor;
        var (id, version) = (record.Id, record.UpdatedAt);
        return await db.UpstreamTokens
            .Where(t => t.Id == id && t.UpdatedAt == version && !t.Disconnected && (t.RefreshLeaseUntil == null || t.RefreshLeaseUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.RefreshLeaseUntil, until), cancellationToken) == 1;
    }

    private async Task<UpstreamTokenResult> RefreshAsync(UpstreamToken record, GatewayRoute route, (string Subject, string RouteId) key, CancellationToken cancellationToken)
    {
        var tokens = Unprotect(record);
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var now = time.GetUtcNow();

        // The lease is ours (TryTakeLeaseAsync); attaching with it set makes clearing it below a tracked change.
        record.RefreshLeaseUntil = now + s_leaseFor;
        db.Attach(record);
        _reads.TryRemove(key, out _);
        if (tokens.RefreshToken is null)
        {
            if (record.ExpiresAt > now)
            {
                record.RefreshLeaseUntil = null;
                await db.SaveChangesAsync(cancellationToken);
                return new UpstreamTokenResult(UpstreamTokenOutcome.Token, tokens.AccessToken);
            }

            record.Disconnected = true;
            record.RefreshLeaseUntil = null;
            await db.SaveChangesAsync(cancellationToken);
            LogDisconnected(logger, route.Id, "the token expired and the provider issued no refresh token");
            return new UpstreamTokenResult(UpstreamTokenOutcome.NotConnected, Reason: "the upstream token expired and cannot be refreshed");
        }

        try
        {
            var client = await EndpointClientAsync(route, record.Issuer, null, new Uri(record.TokenEndpoint), record.ClientId, record.ClientKind, record.AuthMethod, record.Resource, cancellationToken);
            var refreshed = await tokenClient.RefreshAsync(client, OutboundPolicy.For(route, state.Current.Config), tokens.RefreshToken, cancellationToken);
            Store(record, refreshed);
            if (refreshed.Scope is not null)
            {
                record.Scopes = refreshed.Scope;
            }

            record.RefreshLeaseUntil = null;
            await db.SaveChangesAsync(cancellationToken);
            LogRefreshed(logger, route.Id, record.ExpiresAt);
            return new UpstreamTokenResult(UpstreamTokenOutcome.Token, refreshed.AccessToken);
        }
        catch (UpstreamOAuthException ex) when (ex.Failure == UpstreamFailure.InvalidGrant)
        {
            // RFC 6749 §5.2: the refresh token is no longer valid; only the user can make a new one.
            record.Disconnected = true;
            record.RefreshLeaseUntil = null;
            await db.SaveChangesAsync(CancellationToken.None);
            LogDisconnected(logger, route.Id, ex.Message);
            return new UpstreamTokenResult(UpstreamTokenOutcome.NotConnected, Reason: "the upstream's authorization server no longer accepts the refresh token (invalid_grant)");
        }
        catch (UpstreamOAuthException ex)
        {
            // An outage is not the user's fault: keep everything, let the next request try again.
            record.RefreshLeaseUntil = null;
            await db.SaveChangesAsync(CancellationToken.None);
            LogRefreshFailed(logger, route.Id, ex.Message);
            return record.ExpiresAt > now
                ? new UpstreamTokenResult(UpstreamTokenOutcome.Token, tokens.AccessToken)
                : new UpstreamTokenResult(UpstreamTokenOutcome.Unavailable, Reason: ex.Message);
        }
    }

    /// <summary>
    /// The upstream refused the TI we sent: with <c>insufficient_scope</c> (RFC 6750 §3.1) the wider scope is
    /// remembered for the next connect; either way the user must connect again.
    /// </summary>
    public async Task MarkRefusedAsync(string subject, string routeId, IReadOnlyList<string>? widerScopes, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var record = await db.UpstreamTokens.Where(t => t.Subject == subject && t.RouteId == routeId).OrderByDescending(t => t.Id).FirstOrDefaultAsync(cancellationToken);
        if (record is null)
        {
            return;
        }

        if (widerScopes is { Count: > 0 })
        {
            record.Scopes = string.Join(' ', record.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries).Union(widerScopes, StringComparer.Ordinal));
        }

        record.Disconnected = true;
        record.UpdatedAt = time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        _reads.TryRemove((subject, routeId), out _);
    }

    public async Task DisconnectAsync(string subject, CompiledRoute route, CancellationToken cancellationToken)
    {
        List<UpstreamToken> records;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
            records = await db.UpstreamTokens.Where(t => t.Subject == subject && t.RouteId == route.Route.Id).ToListAsync(cancellationToken);
            db.UpstreamTokens.RemoveRange(records);
            await db.SaveChangesAsync(cancellationToken);
        }

        _reads.TryRemove((subject, route.Route.Id), out _);
        foreach (var record in records)
        {
            LogDisconnected(logger, route.Route.Id, "the user disconnected");
            if (record.RevocationEndpoint is null || !Uri.TryCreate(record.RevocationEndpoint, UriKind.Absolute, out var endpoint))
            {
                continue;
            }

            // RFC 7009 §2: revoking the refresh token revokes its access tokens too (where the server supports it).
            try
            {
                var tokens = Unprotect(record);
                var client = await EndpointClientAsync(route.Route, record.Issuer, null, new Uri(record.TokenEndpoint), record.ClientId, record.ClientKind, record.AuthMethod, record.Resource, cancellationToken);
                var (token, hint) = tokens.RefreshToken is { } refresh ? (refresh, "refresh_token") : (tokens.AccessToken, "access_token");
                await tokenClient.RevokeAsync(endpoint, client, OutboundPolicy.For(route.Route, state.Current.Config), token, hint, cancellationToken);
            }
            catch (Exception ex) when (ex is UpstreamOAuthException or CryptographicException)
            {
                LogRevokeFailed(logger, route.Route.Id, ex.Message);
            }
        }
    }

    /// <summary>
    /// For a route this replica has not seen ask for OAuth: whether any user is connected to it (through another
    /// replica, or before a restart), checked at most every <see cref="s_routeCheckFor"/>. When one is, the route is
    /// known to need OAuth from then on; when none is, requests go out without a TI and an upstream 401 teaches the
    /// same (UpstreamChallengeTransform).
    /// </summary>
    private async ValueTask<bool> RouteHasConnectionsAsync(string routeId, CancellationToken cancellationToken)
    {
        if (_noConnectionsUntil.TryGetValue(routeId, out var until) && until > time.GetUtcNow())
        {
            return false;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        if (await db.UpstreamTokens.AnyAsync(t => t.RouteId == routeId, cancellationToken))
        {
            discovery.MarkNeedsOAuth(routeId);
            return true;
        }

        _noConnectionsUntil[routeId] = time.GetUtcNow() + s_routeCheckFor;
        return false;
    }

    private async Task<UpstreamToken?> FindAsync(string subject, string routeId, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        return await db.UpstreamTokens.AsNoTracking()
            .Where(t => t.Subject == subject && t.RouteId == routeId)
            .OrderBy(t => t.Disconnected).ThenByDescending(t => t.UpdatedAt)
            .FirstOrDefaultAsync(cancellationToken);
    }

    /// <summary>
    /// MCP authorization, "Scope Selection Strategy": the challenge's scope, else the resource's scopes_supported
    /// (configured scopes win over both: the administrator registered the client for them), plus any wider scope a
    /// previous <c>insufficient_scope</c> asked for.
    /// </summary>
    private static List<string> ChooseScopes(GatewayRoute route, UpstreamAuthServer server, UpstreamToken? existing)
    {
        IEnumerable<string> scopes = route.McpServer?.UpstreamOAuth2?.Scopes is { Count: > 0 } configured ? configured
            : server.ChallengeScopes ?? server.ResourceScopes ?? [];
        if (existing is not null)
        {
            scopes = scopes.Union(existing.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries), StringComparer.Ordinal);
        }

        return scopes.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// MCP authorization, "Client Registration Approaches": pre-registered (configuration), else Gatehouse's own Client
    /// ID Metadata Document when the server supports it, else RFC 7591 dynamic registration (cached per issuer and
    /// redirect URI in the database).
    /// </summary>
    private async Task<UpstreamClient> ResolveClientAsync(GatewayRoute route, UpstreamAuthServer server, OutboundPolicy policy, HttpRequest request, string redirectUri, CancellationToken cancellationToken)
    {
        if (route.McpServer?.UpstreamOAuth2 is { } configured)
        {
            return new UpstreamClient(configured.ClientId, configured.ClientSecret, UpstreamClientKind.PreRegistered, AuthMethod(configured));
        }

        if (server.ClientIdMetadataDocumentSupported)
        {
            return new UpstreamClient(string.Concat(request.Scheme, "://", request.Host.Value, ClientMetadataPath), null, UpstreamClientKind.MetadataDocument, "none");
        }

        if (server.RegistrationEndpoint is null)
        {
            throw new UpstreamOAuthException(UpstreamFailure.Discovery,
                $"The authorization server {server.Issuer} offers neither client ID metadata documents nor dynamic registration; register Gatehouse there and set upstream_oauth2.client_id");
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
        var now = time.GetUtcNow();
        var saved = await db.UpstreamClientRegistrations.FirstOrDefaultAsync(r => r.Issuer == server.Issuer && r.RedirectUri == redirectUri, cancellationToken);
        if (saved is not null && (saved.SecretExpiresAt is null || saved.SecretExpiresAt > now + TimeSpan.FromMinutes(10)))
        {
            return new UpstreamClient(saved.ClientId, saved.ProtectedSecret is null ? null : _secretProtector.Unprotect(saved.ProtectedSecret), UpstreamClientKind.Dynamic, saved.AuthMethod);
        }

        var registered = await tokenClient.RegisterAsync(server.RegistrationEndpoint, policy, redirectUri, server.TokenEndpointAuthMethods, cancellationToken);
        if (saved is null)
        {
            saved = new UpstreamClientRegistration { Issuer = server.Issuer, RedirectUri = redirectUri, ClientId = registered.ClientId! };
            db.UpstreamClientRegistrations.Add(saved);
        }

        saved.ClientId = registered.ClientId!;
        saved.ProtectedSecret = registered.ClientSecret is null ? null : _secretProtector.Protect(registered.ClientSecret);
        saved.AuthMethod = registered.TokenEndpointAuthMethod;
        saved.SecretExpiresAt = registered.ClientSecretExpiresAt is { } expires and > 0 ? DateTimeOffset.FromUnixTimeSeconds(expires) : null;
        saved.CreatedAt = now;
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Another replica registered at the same moment; its registration works as well as this one.
        }

        LogRegistered(logger, server.Issuer);
        return new UpstreamClient(registered.ClientId!, registered.ClientSecret, UpstreamClientKind.Dynamic, registered.TokenEndpointAuthMethod);
    }

    /// <summary>The token endpoint client for a stored record or a pending authorization: the secret is looked up, never stored with the tokens.</summary>
    private async Task<TokenEndpointClient> EndpointClientAsync(
        GatewayRoute route, string issuer, string? redirectUri, Uri tokenEndpoint, string clientId, UpstreamClientKind kind, string? authMethod, string? resource, CancellationToken cancellationToken)
    {
        string? secret = null;
        switch (kind)
        {
            case UpstreamClientKind.PreRegistered when route.McpServer?.UpstreamOAuth2 is { } configured && configured.ClientId == clientId:
                secret = configured.ClientSecret;
                authMethod = AuthMethod(configured);
                break;
            case UpstreamClientKind.Dynamic:
                await using (var scope = scopes.CreateAsyncScope())
                {
                    var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
                    var saved = await db.UpstreamClientRegistrations.AsNoTracking()
                        .Where(r => r.Issuer == issuer && r.ClientId == clientId && (redirectUri == null || r.RedirectUri == redirectUri))
                        .FirstOrDefaultAsync(cancellationToken);
                    secret = saved?.ProtectedSecret is { } protectedSecret ? _secretProtector.Unprotect(protectedSecret) : null;
                }

                break;
        }

        return new TokenEndpointClient(tokenEndpoint, clientId, secret, authMethod, resource);
    }

    private static string? AuthMethod(UpstreamOAuth2Config configured) => configured.AuthStyle switch
    {
        UpstreamAuthStyle.InHeader => "client_secret_basic",
        UpstreamAuthStyle.InParams => "client_secret_post",
        _ => null,
    };

    /// <summary>RFC 6749 §4.1.2.1 error codes are ASCII tokens; anything else is not echoed to the return URL.</summary>
    private static bool IsToken(string value) => value.Length <= 64 && value.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    public static string WithError(string returnUrl, string errorCode) =>
        returnUrl + (returnUrl.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "connect_error=" + Uri.EscapeDataString(errorCode);

    [LoggerMessage(EventId = 7100, Level = LogLevel.Information, Message = "Connecting a user to route {RouteId} at {Issuer} as a {ClientKind} client")]
    private static partial void LogConnectStarted(ILogger logger, string routeId, string issuer, UpstreamClientKind clientKind);

    [LoggerMessage(EventId = 7101, Level = LogLevel.Information, Message = "Connected a user to route {RouteId} at {Issuer}")]
    private static partial void LogConnected(ILogger logger, string routeId, string issuer);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Warning, Message = "Refused an upstream authorization response for route {RouteId}: {Reason}")]
    private static partial void LogCallbackRefused(ILogger logger, string routeId, string reason);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Information, Message = "Refreshed an upstream token for route {RouteId}; it expires at {ExpiresAt}")]
    private static partial void LogRefreshed(ILogger logger, string routeId, DateTimeOffset? expiresAt);

    [LoggerMessage(EventId = 7104, Level = LogLevel.Warning, Message = "Could not refresh an upstream token for route {RouteId}, kept for the next try: {Reason}")]
    private static partial void LogRefreshFailed(ILogger logger, string routeId, string reason);

    [LoggerMessage(EventId = 7105, Level = LogLevel.Information, Message = "A user's upstream connection for route {RouteId} ended: {Reason}")]
    private static partial void LogDisconnected(ILogger logger, string routeId, string reason);

    [LoggerMessage(EventId = 7106, Level = LogLevel.Warning, Message = "Could not revoke an upstream token for route {RouteId} (it was deleted here): {Reason}")]
    private static partial void LogRevokeFailed(ILogger logger, string routeId, string reason);

    [LoggerMessage(EventId = 7107, Level = LogLevel.Information, Message = "Registered Gatehouse as a client at {Issuer} (RFC 7591)")]
    private static partial void LogRegistered(ILogger logger, string issuer);
}
