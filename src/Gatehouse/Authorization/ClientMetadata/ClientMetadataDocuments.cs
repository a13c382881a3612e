using System.Collections.Concurrent;
using System.Text.Json;
using Gatehouse.Configuration;
using Gatehouse.Proxy;
using Microsoft.AspNetCore;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Gatehouse.Authorization.ClientMetadata;

/// <summary>A validated Client ID Metadata Document: what the server uses of it.</summary>
internal sealed record ClientMetadataDocument(string ClientId, string Name, IReadOnlyList<string> RedirectUris);

internal static class ClientMetadataServiceCollectionExtensions
{
    public static IServiceCollection AddClientIdMetadataDocuments(this IServiceCollection services)
    {
        services.AddSingleton<SafeMetadataFetcher>();
        services.AddSingleton<ClientMetadataDocumentResolver>();
        return services;
    }
}

/// <summary>
/// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document, MCP authorization "Client ID
/// Metadata Documents"): a client_id that is an https URL is fetched, checked and cached as the HTTP headers allow.
/// The document must name itself (<c>client_id</c> equal to the URL), list its redirect URIs, and use no shared
/// secret: anyone can read it, so it can only describe a public client.
/// </summary>
internal sealed class ClientMetadataDocumentResolver(SafeMetadataFetcher fetcher, GatewayState state, TimeProvider time)
{
    /// <summary>Without cache headers a document is kept this long; with them, never longer than a day.</summary>
    private static readonly TimeSpan s_defaultFreshness = TimeSpan.FromHours(1);
    private static readonly TimeSpan s_maxFreshness = TimeSpan.FromDays(1);
    private const int MaxCached = 1000;

    /// <summary>Auth methods that rely on a secret shared with the server, which a public document cannot hold.</summary>
    private static readonly string[] s_sharedSecretMethods = ["client_secret_basic", "client_secret_post", "client_secret_jwt"];

    private readonly ConcurrentDictionary<string, (ClientMetadataDocument Document, DateTimeOffset FreshUntil)> _cache = new(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="clientId"/> is meant as a metadata document URL (as opposed to a registered id).</summary>
    public static bool IsDocumentClientId(string? clientId) =>
        clientId is not null && (clientId.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || clientId.StartsWith("http://", StringComparison.OrdinalIgnoreCase));

    /// <summary>The document, from the cache when still fresh; throws <see cref="MetadataFetchException"/> with the reason.</summary>
    public async Task<(ClientMetadataDocument Document, bool Fetched)> ResolveAsync(string clientId, CancellationToken cancellationToken)
    {
        var settings = state.Current.Config.AuthorizationServer.ClientIdMetadataDocuments;
        var url = CheckUrl(clientId, settings);
        if (_cache.TryGetValue(clientId, out var cached) && cached.FreshUntil > time.GetUtcNow())
        {
            return (cached.Document, false);
        }

        var fetched = await fetcher.GetAsync(url, cancellationToken);
        var document = Parse(clientId, fetched.Body);
        var freshFor = fetched.FreshFor is { } f ? (f > s_maxFreshness ? s_maxFreshness : f) : s_defaultFreshness;
        if (freshFor > TimeSpan.Zero)
        {
            if (_cache.Count >= MaxCached)
            {
                _cache.Clear();
            }

            _cache[clientId] = (document, time.GetUtcNow() + freshFor);
        }
        else
        {
            _cache.TryRemove(clientId, out _);
        }

        return (document, true);
    }

    /// <summary>The URL rules of the draft (§3): https, a path, no fragment, no credentials, no dot segments.</summary>
    private static Uri CheckUrl(string clientId, ClientIdMetadataDocumentsConfig settings)
    {
        if (!Uri.TryCreate(clientId, UriKind.Absolute, out var url))
        {
            throw new MetadataFetchException("URL is not a valid absolute URL");
        }

        var loopbackHttp = url.Scheme == Uri.UriSchemeHttp && settings.AllowPrivateAddresses && RedirectUriRules.IsLoopbackHost(url.Host);
        if (url.Scheme != Uri.UriSchemeHttps && !loopbackHttp)
        {
            throw new MetadataFetchException("URL must use https");
        }

        if (url.AbsolutePath is "/" or "" || url.Fragment.Length > 0 || url.UserInfo.Length > 0 ||
            clientId.Contains("/./", StringComparison.Ordinal) || clientId.Contains("/../", StringComparison.Ordinal) || clientId.EndsWith("/..", StringComparison.Ordinal))
        {
            throw new MetadataFetchException("URL must have a path and no fragment, credentials or dot segments");
        }

        if (!settings.IsDomainAllowed(url.IdnHost))
        {
            throw new MetadataFetchException($"host {url.IdnHost} is not in this server's allowed client domains");
        }

        return url;
    }

    private static ClientMetadataDocument Parse(string clientId, byte[] body)
    {
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            throw new MetadataFetchException("is not valid JSON");
        }

        using (json)
        {
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new MetadataFetchException("is not a JSON object");
            }

            if (!root.TryGetProperty("client_id", out var id) || id.ValueKind != JsonValueKind.String || id.GetString() != clientId)
            {
                throw new MetadataFetchException("names a different client_id than its own URL");
            }

            if (root.TryGetProperty("client_secret", out _) || root.TryGetProperty("client_secret_expires_at", out _))
            {
                throw new MetadataFetchException("contains a client secret; a public document cannot hold one");
            }

            if (root.TryGetProperty("token_endpoint_auth_method", out var method) &&
                (method.ValueKind != JsonValueKind.String || Array.IndexOf(s_sharedSecretMethods, method.GetString()) >= 0))
            {
                throw new MetadataFetchException("asks for a shared-secret token_endpoint_auth_method; use `none` (PKCE)");
            }

            if (!root.TryGetProperty("redirect_uris", out var uris) || uris.ValueKind != JsonValueKind.Array || uris.GetArrayLength() == 0)
            {
                throw new MetadataFetchException("lists no redirect_uris");
            }

            var redirectUris = new List<string>();
            foreach (var uri in uris.EnumerateArray())
            {
                var problem = uri.ValueKind == JsonValueKind.String ? RedirectUriRules.Check(uri.GetString()!) : "not a string";
                if (problem is not null)
                {
                    throw new MetadataFetchException($"lists a redirect URI that cannot be used ({problem})");
                }

                redirectUris.Add(uri.GetString()!);
            }

            var name = root.TryGetProperty("client_name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() is { Length: > 0 and <= 200 } text
                ? text
                : new Uri(clientId).Host;
            return new ClientMetadataDocument(clientId, name, redirectUris);
        }
    }
}

/// <summary>
/// Resolves a URL client_id before OpenIddict looks the client up: fetches and checks the document, then creates
/// or updates the application it describes, so the rest of the pipeline (redirect URI, PKCE, permissions) treats it
/// like any registered public client. A document that cannot be used is refused with <c>invalid_client</c> and the
/// reason; the redirect URI is not trusted yet, so the user sees the error rather than the client.
/// </summary>
internal static class ClientMetadataDocumentHandler
{
    public static void Register(OpenIddictServerBuilder server)
    {
        server.AddEventHandler<ValidateAuthorizationRequestContext>(builder => builder
            .UseSingletonHandler<ResolveForAuthorization>()
            .SetOrder(OpenIddictServerHandlers.Authentication.ValidateAuthentication.Descriptor.Order - 1));
        server.AddEventHandler<ValidateTokenRequestContext>(builder => builder
            .UseSingletonHandler<RefuseWhenDisabled>()
            .SetOrder(OpenIddictServerHandlers.Exchange.ValidateAuthentication.Descriptor.Order - 1));
    }

    internal sealed class ResolveForAuthorization(ClientMetadataDocumentResolver resolver, ClientRegistrations registrations, GatewayState state)
        : IOpenIddictServerHandler<ValidateAuthorizationRequestContext>
    {
        public async ValueTask HandleAsync(ValidateAuthorizationRequestContext context)
        {
            var clientId = context.ClientId;
            if (!ClientMetadataDocumentResolver.IsDocumentClientId(clientId))
            {
                return;
            }

            if (!state.Current.Config.AuthorizationServer.ClientIdMetadataDocuments.Enabled)
            {
                context.Reject(Errors.InvalidClient, "This server does not accept Client ID Metadata Documents (URL client ids); register the client instead.");
                return;
            }

            var cancellationToken = context.Transaction.GetHttpRequest()?.HttpContext.RequestAborted ?? CancellationToken.None;
            try
            {
                var (document, fetched) = await resolver.ResolveAsync(clientId!, cancellationToken);
                if (fetched)
                {
                    await registrations.UpsertMetadataDocumentClientAsync(document.ClientId, document.Name, document.RedirectUris, cancellationToken);
                }
            }
            catch (MetadataFetchException ex)
            {
                context.Reject(Errors.InvalidClient, $"The client metadata document {ex.Message}.");
            }
        }
    }

    internal sealed class RefuseWhenDisabled(GatewayState state) : IOpenIddictServerHandler<ValidateTokenRequestContext>
    {
        public ValueTask HandleAsync(ValidateTokenRequestContext context)
        {
            var settings = state.Current.Config.AuthorizationServer.ClientIdMetadataDocuments;
            if (ClientMetadataDocumentResolver.IsDocumentClientId(context.ClientId) &&
                (!settings.Enabled || !Uri.TryCreate(context.ClientId, UriKind.Absolute, out var url) || !settings.IsDomainAllowed(url.IdnHost)))
            {
                // Switched off, or the domain taken off the allowlist, since the grant was made.
                context.Reject(Errors.InvalidClient, "This server no longer accepts this client's metadata document.");
            }

            return ValueTask.CompletedTask;
        }
    }
}
