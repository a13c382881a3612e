using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using OpenIddict.Core;
using OpenIddict.EntityFrameworkCore.Models;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Servers.Notes.Authorization;

/// <summary>
/// The OAuth clients, as OpenIddict applications: those of <see cref="NotesServerOptions.Clients"/>, made to match
/// the options at every start, and those registered dynamically (RFC 7591). Every client gets the same rights: the
/// code flow with PKCE, refresh and revocation.
/// </summary>
internal sealed class ClientStore(IOpenIddictApplicationManager applications, ILogger<ClientStore> logger)
{
    /// <summary>Client ids of dynamically registered clients start with this; configured ones may not.</summary>
    public const string DynamicPrefix = "dcr_";

    /// <summary>Marks the applications that come from the options, so a client removed from them is deleted.</summary>
    private const string ConfiguredProperty = "notes_configured";

    /// <summary>Creates, updates and deletes applications until they are the configured clients.</summary>
    public async Task SyncConfiguredAsync(IReadOnlyList<NotesClient> clients, CancellationToken cancellationToken)
    {
        foreach (var client in clients)
        {
            var descriptor = Describe(client.ClientId, client.Name ?? client.ClientId, client.RedirectUris, confidential: client.ClientSecret is not null);
            descriptor.Properties[ConfiguredProperty] = JsonSerializer.SerializeToElement(true, NotesJsonContext.Default.Boolean);
            if (await applications.FindByClientIdAsync(client.ClientId, cancellationToken) is not { } existing)
            {
                descriptor.ClientSecret = client.ClientSecret;
                await applications.CreateAsync(descriptor, cancellationToken);
                Log.ClientChanged(logger, client.ClientId, "created from the options");
                continue;
            }

            // An update writes the descriptor's secret: keep the stored hash unless the secret changed, which also
            // spares a deliberately slow hash at every start.
            var stored = new OpenIddictApplicationDescriptor();
            await applications.PopulateAsync(stored, existing, cancellationToken);
            descriptor.ClientSecret = client.ClientSecret is { } secret && !await applications.ValidateClientSecretAsync(existing, secret, cancellationToken)
                ? secret
                : stored.ClientSecret;
            await applications.UpdateAsync(existing, descriptor, cancellationToken);
        }

        var listed = clients.Select(c => c.ClientId).ToHashSet(StringComparer.Ordinal);
        var removed = new List<object>();
        await foreach (var application in applications.ListAsync(count: null, offset: null, cancellationToken))
        {
            var properties = await applications.GetPropertiesAsync(application, cancellationToken);
            if (properties.ContainsKey(ConfiguredProperty) && !listed.Contains(await applications.GetClientIdAsync(application, cancellationToken) ?? ""))
            {
                removed.Add(application);
            }
        }

        foreach (var application in removed)
        {
            // OpenIddict deletes the application's authorizations and tokens with it.
            Log.ClientChanged(logger, await applications.GetClientIdAsync(application, cancellationToken) ?? "?", "removed: no longer in the options");
            await applications.DeleteAsync(application, cancellationToken);
        }
    }

    /// <summary>Registers a client (RFC 7591 §3.1); returns its id and, for a confidential client, its secret.</summary>
    public async Task<(string ClientId, string? ClientSecret)> RegisterAsync(string name, IReadOnlyList<string> redirectUris, bool confidential, CancellationToken cancellationToken)
    {
        var clientId = DynamicPrefix + Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(16));
        var secret = confidential ? Base64UrlEncoder.Encode(RandomNumberGenerator.GetBytes(32)) : null;
        var descriptor = Describe(clientId, name, redirectUris, confidential);
        descriptor.ClientSecret = secret;
        await applications.CreateAsync(descriptor, cancellationToken);
        Log.ClientChanged(logger, clientId, "registered dynamically");
        return (clientId, secret);
    }

    /// <summary>
    /// Creates or updates the application of a client ID Metadata Document, from the document just fetched: the
    /// document is the client's registration, so its redirect URIs and name replace the stored ones.
    /// </summary>
    public async Task SaveMetadataClientAsync(string clientId, ClientMetadataDocument document, CancellationToken cancellationToken)
    {
        // The host goes with the name: the document's author chooses client_name, not the host it is served from.
        var host = new Uri(clientId).Authority;
        var name = document.ClientName?.Trim() is { Length: > 0 and <= 100 } given ? $"{given} ({host})" : host;
        var descriptor = Describe(clientId, name, document.RedirectUris!.Select(u => u!), confidential: false);
        if (await applications.FindByClientIdAsync(clientId, cancellationToken) is not { } existing)
        {
            try
            {
                await applications.CreateAsync(descriptor, cancellationToken);
                Log.ClientChanged(logger, clientId, "registered from its metadata document");
            }
            catch (Exception ex) when (ex is DbUpdateException or OpenIddictExceptions.ConcurrencyException)
            {
                // Two authorization requests of the same new client at once: the other one stored it.
            }

            return;
        }

        await applications.UpdateAsync(existing, descriptor, cancellationToken);
    }

    private static OpenIddictApplicationDescriptor Describe(string clientId, string name, IEnumerable<string> redirectUris, bool confidential)
    {
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = clientId,
            DisplayName = name,
            ClientType = confidential ? ClientTypes.Confidential : ClientTypes.Public,
            ConsentType = ConsentTypes.Explicit,
            Permissions =
            {
                Permissions.Endpoints.Authorization, Permissions.Endpoints.Token, Permissions.Endpoints.Revocation,
                Permissions.GrantTypes.AuthorizationCode, Permissions.GrantTypes.RefreshToken, Permissions.ResponseTypes.Code,
            },
            // OAuth 2.1 §7.5.2: PKCE for confidential clients too.
            Requirements = { Requirements.Features.ProofKeyForCodeExchange },
        };
        descriptor.RedirectUris.UnionWith(redirectUris.Select(u => new Uri(u)));
        return descriptor;
    }
}

/// <summary>
/// OpenIddict's application manager with one change to the redirect URI rule: an http URI on a loopback host
/// matches whatever its port, as native apps listen on a port they pick at start-up (RFC 8252 §7.3).
/// </summary>
internal sealed class NotesApplicationManager(
    IOpenIddictApplicationCache<OpenIddictEntityFrameworkCoreApplication> cache,
    ILogger<OpenIddictApplicationManager<OpenIddictEntityFrameworkCoreApplication>> logger,
    IOptionsMonitor<OpenIddictCoreOptions> options,
    IOpenIddictApplicationStore<OpenIddictEntityFrameworkCoreApplication> store)
    : OpenIddictApplicationManager<OpenIddictEntityFrameworkCoreApplication>(cache, logger, options, store)
{
    public override async ValueTask<bool> ValidateRedirectUriAsync(
        OpenIddictEntityFrameworkCoreApplication application, string uri, CancellationToken cancellationToken = default) =>
        (await GetRedirectUrisAsync(application, cancellationToken)).Any(registered => RedirectUriPolicy.Matches(registered, uri));
}
