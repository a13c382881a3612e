using Gatehouse.ServiceAccounts;

namespace Gatehouse.ResourceServer;

internal static class ResourceServerExtensions
{
    /// <summary>Token checks on routes, identity assertions, service accounts and RFC 9728 metadata.</summary>
    public static IServiceCollection AddGatehouseResourceServer(this IServiceCollection services)
    {
        services.AddSingleton<AccessTokenValidator>();
        services.AddSingleton<ExternalTokenIssuer>();
        services.AddSingleton<IdentityAssertionSigner>();
        services.AddSingleton<ServiceAccountStore>();
        return services;
    }
}
