using System.Collections.Immutable;
using Microsoft.AspNetCore;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Gatehouse.Servers.Notes.Authorization;

/// <summary>What OpenIddict's discovery document does not say by itself (RFC 8414 §2, RFC 7591 §3).</summary>
internal static class DiscoveryMetadata
{
    public static void Register(OpenIddictServerBuilder server) =>
        server.AddEventHandler<HandleConfigurationRequestContext>(handler => handler.UseSingletonHandler<AttachNotesMetadata>());

    internal sealed class AttachNotesMetadata(NotesServerOptions options, NotesUrls urls) : IOpenIddictServerHandler<HandleConfigurationRequestContext>
    {
        public ValueTask HandleAsync(HandleConfigurationRequestContext context)
        {
            // Advertised only while registration is open: clients then know to use a pre-registered client id.
            if (options.DynamicClientRegistration && context.Transaction.GetHttpRequest() is { } request)
            {
                context.Metadata["registration_endpoint"] = urls.Origin(request) + AuthorizationServer.RegisterPath;
            }

            if (options.ClientIdMetadataDocuments)
            {
                context.Metadata["client_id_metadata_document_supported"] = true;
            }

            // Public clients (PKCE and no secret) are what most MCP clients are; OpenIddict lists only the secret methods.
            // client_secret_basic comes first: some clients (the C# SDK's among them) take the first method listed,
            // and one that holds a secret must send it. RFC 8414 gives the order no meaning.
            context.Metadata[Metadata.TokenEndpointAuthMethodsSupported] = ImmutableArray.Create<string?>(
                ClientAuthenticationMethods.ClientSecretBasic, ClientAuthenticationMethods.ClientSecretPost, ClientAuthenticationMethods.None);
            return ValueTask.CompletedTask;
        }
    }
}
