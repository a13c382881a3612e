using System.Text.Json;
using Gatehouse.Configuration;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Authorization;

/// <summary>Where an OAuth client came from; stored with the application so each source manages only its own.</summary>
internal static class ClientSources
{
    public const string Property = "gatehouse_source";
    public const string Configuration = "configuration";
    public const string MetadataDocument = "client_id_metadata_document";
    public const string DynamicRegistration = "dynamic_registration";
}

/// <summary>
/// Creates and updates OpenIddict applications for the three kinds of client: those in the configuration (synced
/// at start-up and on every reload), Client ID Metadata Documents (on first use and when their cache expires) and
/// dynamically registered ones (RFC 7591). All get the same permissions: the code flow with PKCE, refresh, and
/// revocation; only a configured resource server may introspect.
/// </summary>
internal sealed partial class ClientRegistrations(IServiceScopeFactory scopes, ILogger<ClientRegistrations> logger)
{
    /// <summary>Makes the configured clients exist as written, and removes configured clients no longer listed.</summary>
    public async Task SyncConfiguredAsync(IReadOnlyList<ConfiguredClient> clients, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var manager = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        foreach (var client in clients)
        {
            var descriptor = Describe(client.ClientId, client.Name, client.RedirectUris.Select(u => u.OriginalString), ClientSources.Configuration,
                confidential: client.ClientSecret is not null, introspection: client.IntrospectRoutes.Count > 0);
            var existing = await manager.FindByClientIdAsync(client.ClientId, cancellationToken);
            if (existing is null)
            {
                descriptor.ClientSecret = client.ClientSecret;
                await manager.CreateAsync(descriptor, cancellationToken);
                LogClientSynced(logger, client.ClientId, "created");
                continue;
            }

            // Hashing a secret is deliberately slow: only when it changed. A null secret keeps the stored hash.
            if (client.ClientSecret is not null && !await manager.ValidateClientSecretAsync(existing, client.ClientSecret, cancellationToken))
            {
                descriptor.ClientSecret = client.ClientSecret;
            }

            await UpdateAsync(manager, existing, descriptor, cancellationToken);
        }

        var listed = clients.Select(c => c.ClientId).ToHashSet(StringComparer.Ordinal);
        var stale = new List<object>();
        await foreach (var application in manager.ListAsync(count: null, offset: null, cancellationToken))
        {
            var properties = await manager.GetPropertiesAsync(application, cancellationToken);
            if (properties.TryGetValue(ClientSources.Property, out var source) && source.ValueKind == JsonValueKind.String &&
                source.GetString() == ClientSources.Configuration &&
                !listed.Contains(await manager.GetClientIdAsync(application, cancellationToken) ?? ""))
            {
                stale.Add(application);
            }
        }

        foreach (var application in stale)
        {
            // Its grants go with it (OpenIddict deletes the application's authorizations and tokens).
            var removedId = await manager.GetClientIdAsync(application, cancellationToken) ?? "?";
            LogClientSynced(logger, removedId, "removed");
            await manager.DeleteAsync(application, cancellationToken);
        }
    }

    /// <summary>Creates or refreshes the application for a validated Client ID Metadata Document.</summary>
    public async Task UpsertMetadataDocumentClientAsync(string clientId, string name, IEnumerable<string> redirectUris, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var manager = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        var descriptor = Describe(clientId, name, redirectUris, ClientSources.MetadataDocument, confidential: false, introspection: false);
        if (await manager.FindByClientIdAsync(clientId, cancellationToken) is { } existing)
        {
            await UpdateAsync(manager, existing, descriptor, cancellationToken);
            return;
        }

        try
        {
            await manager.CreateAsync(descriptor, cancellationToken);
        }
        catch (Exception ex) when (ex is Microsoft.EntityFrameworkCore.DbUpdateException or OpenIddictExceptions.ConcurrencyException)
        {
            // Another request (or replica) registered the same document first: update that one instead.
            if (await manager.FindByClientIdAsync(clientId, cancellationToken) is { } winner)
            {
                await UpdateAsync(manager, winner, descriptor, cancellationToken);
            }
        }
    }

    /// <summary>Registers a client (RFC 7591); returns its id and, for a confidential client, its secret.</summary>
    public async Task<(string ClientId, string? ClientSecret)> RegisterAsync(string name, IEnumerable<string> redirectUris, bool confidential, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var manager = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        var clientId = "dcr_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var secret = confidential ? Base64Url(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)) : null;
        var descriptor = Describe(clientId, name, redirectUris, ClientSources.DynamicRegistration, confidential, introspection: false);
        descriptor.ClientSecret = secret;
        await manager.CreateAsync(descriptor, cancellationToken);
        LogClientSynced(logger, clientId, "registered");
        return (clientId, secret);
    }

    private static OpenIddictApplicationDescriptor Describe(string clientId, string name, IEnumerable<string> redirectUris, string source, bool confidential, bool introspection)
    {
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = clientId,
            DisplayName = name,
            ClientType = confidential ? ClientTypes.Confidential : ClientTypes.Public,
            ConsentType = ConsentTypes.Explicit,
        };
        descriptor.Properties[ClientSources.Property] = JsonSerializer.SerializeToElement(source, GatehouseAuthorizationJsonContext.Default.String);
        foreach (var uri in redirectUris)
        {
            descriptor.RedirectUris.Add(new Uri(uri));
        }

        if (descriptor.RedirectUris.Count > 0)
        {
            descriptor.Permissions.UnionWith(
            [
                Permissions.Endpoints.Authorization, Permissions.Endpoints.Token, Permissions.Endpoints.Revocation,
                Permissions.GrantTypes.AuthorizationCode, Permissions.GrantTypes.RefreshToken, Permissions.ResponseTypes.Code,
            ]);
            // OAuth 2.1 §7.5.2: PKCE for every client, confidential ones too.
            descriptor.Requirements.Add(Requirements.Features.ProofKeyForCodeExchange);
        }

        if (introspection)
        {
            descriptor.Permissions.Add(Permissions.Endpoints.Introspection);
        }

        return descriptor;
    }

    /// <summary>
    /// Updates the application when the descriptor differs. A descriptor without a secret keeps the stored hash:
    /// OpenIddict would otherwise clear it.
    /// </summary>
    private static async Task UpdateAsync(IOpenIddictApplicationManager manager, object application, OpenIddictApplicationDescriptor descriptor, CancellationToken cancellationToken)
    {
        var current = new OpenIddictApplicationDescriptor();
        await manager.PopulateAsync(current, application, cancellationToken);
        var newSecret = descriptor.ClientSecret is not null;
        if (descriptor.ClientType == ClientTypes.Confidential && !newSecret)
        {
            descriptor.ClientSecret = current.ClientSecret;
        }

        var unchanged = !newSecret && current.DisplayName == descriptor.DisplayName && current.ClientType == descriptor.ClientType &&
            current.RedirectUris.SetEquals(descriptor.RedirectUris) && current.Permissions.SetEquals(descriptor.Permissions) &&
            current.Requirements.SetEquals(descriptor.Requirements);
        if (!unchanged)
        {
            await manager.UpdateAsync(application, descriptor, cancellationToken);
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [LoggerMessage(EventId = 4120, Level = LogLevel.Information, Message = "OAuth client {ClientId} {Action}")]
    private static partial void LogClientSynced(ILogger logger, string clientId, string action);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class GatehouseAuthorizationJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
