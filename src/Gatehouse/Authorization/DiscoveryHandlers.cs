using Gatehouse.Proxy;
using Microsoft.AspNetCore;
using OpenIddict.Server;
using static OpenIddict.Abstractions.OpenIddictConstants;
using static OpenIddict.Server.OpenIddictServerEvents;

namespace Gatehouse.Authorization;

/// <summary>What OpenIddict's discovery document does not say by itself (RFC 8414 §2, MCP authorization).</summary>
internal static class DiscoveryHandlers
{
    public static void Register(OpenIddictServerBuilder server) =>
        server.AddEventHandler<HandleConfigurationRequestContext>(builder => builder.UseSingletonHandler<AttachGatehouseMetadata>());

    internal sealed class AttachGatehouseMetadata(GatewayState state) : IOpenIddictServerHandler<HandleConfigurationRequestContext>
    {
        public ValueTask HandleAsync(HandleConfigurationRequestContext context)
        {
            var settings = state.Current.Config.AuthorizationServer;

            // draft-ietf-oauth-client-id-metadata-document §4: advertised only while the server accepts them.
            context.Metadata["client_id_metadata_document_supported"] = settings.ClientIdMetadataDocuments.Enabled;

            if (settings.DynamicClientRegistration && context.Transaction.GetHttpRequest() is { } request)
            {
                context.Metadata["registration_endpoint"] = string.Concat(request.Scheme, "://", request.Host.Value, AuthorizationServerExtensions.RegisterPath);
            }

            // Public clients (PKCE, no secret) are what most MCP clients are: say so, beside the secret-based methods.
            context.Metadata[Metadata.TokenEndpointAuthMethodsSupported] = System.Collections.Immutable.ImmutableArray.Create<string?>(
                ClientAuthenticationMethods.None, ClientAuthenticationMethods.ClientSecretBasic, ClientAuthenticationMethods.ClientSecretPost);
            return ValueTask.CompletedTask;
        }
    }
}
