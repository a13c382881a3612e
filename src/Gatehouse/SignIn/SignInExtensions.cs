using Gatehouse.Configuration;
using Gatehouse.SignIn.Oidc;

namespace Gatehouse.SignIn;

internal static class SignInExtensions
{
    /// <summary>
    /// Sessions are registered always (other features resolve users through <see cref="ISessionUserAccessor"/>);
    /// the pages only when <c>idp</c> is configured. The OpenID Connect client is registered whatever the provider
    /// (<see cref="OidcSignIn.AddGatehouseOidcSignIn"/>).
    /// </summary>
    public static IServiceCollection AddGatehouseSignIn(this IServiceCollection services, GatewayConfig config)
    {
        services.AddMemoryCache();
        services.AddSingleton<SessionStore>();
        services.AddSingleton<ISessionUserAccessor>(sp => sp.GetRequiredService<SessionStore>());
        services.AddSingleton<LoginLockoutStore>();
        services.AddSingleton<AddressSignInLimiter>();
        // Always: the consent and connected-apps pages use it too, and a reload may add `idp` to a running gateway.
        services.AddAntiforgery(options =>
        {
            // The pages send X-Frame-Options: DENY (and CSP frame-ancestors 'none') themselves.
            options.SuppressXFrameOptionsHeader = true;
            options.Cookie.Name = "gatehouse_csrf";
            options.FormFieldName = "csrf_token";
        });
        services.AddGatehouseOidcSignIn();

        return services;
    }

    public static IEndpointRouteBuilder MapGatehouseSignIn(this IEndpointRouteBuilder endpoints, GatewayConfig config) =>
        config.Idp is null ? endpoints : OidcSignIn.MapOidcCallback(SignInEndpoints.MapPages(endpoints));
}
