using System.Globalization;
using Gatehouse.Configuration;
using Gatehouse.Proxy;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using OpenIddict.Client;
using OpenIddict.Client.AspNetCore;
using Polly;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.SignIn.Oidc;

/// <summary>
/// Sign-in through an OpenID Connect provider (<c>idp.provider: oidc</c>) with the OpenIddict client: authorization
/// code with PKCE (OAuth 2.1 §4.1, RFC 7636), discovery from the provider's <c>/.well-known/openid-configuration</c>,
/// state tokens signed and encrypted by the gateway, bound to the browser by a correlation cookie. On the way back
/// the user gets a server-side session like the built-in provider's, which also keeps the provider's refresh token
/// (protected) so <see cref="IdpSessionRefresher"/> can keep asking the provider about the user.
/// </summary>
internal static partial class OidcSignIn
{
    public const string Prefix = "/.gatehouse/oidc";

    /// <summary>The redirection endpoint: register <c>https://{host}/.gatehouse/oidc/callback</c> at the provider.</summary>
    public const string CallbackPath = Prefix + "/callback";

    /// <summary>
    /// Where the provider sends the browser back after signing the user out there (OpenID Connect RP-Initiated Logout
    /// 1.0 §3): register <c>https://{host}/.gatehouse/oidc/signed_out</c> at the provider as a post-logout redirect URI.
    /// </summary>
    public const string SignedOutPath = Prefix + "/signed_out";

    /// <summary>The one registration of the OpenIddict client: the configured provider.</summary>
    public const string RegistrationId = "gatehouse-idp";

    private const string LogCategory = "Gatehouse.SignIn.Oidc.OidcSignIn";

    private const string ChallengeErrorItem = "Gatehouse.SignIn.Oidc.ChallengeError";

    private const string Unreachable = "The identity provider cannot be reached right now (or failed to answer), so you cannot be signed in. Try again in a moment.";

    /// <summary>
    /// The client is registered whatever the provider, so that a reload switching <c>idp</c> to <c>oidc</c> works
    /// without a restart; without an <c>oidc</c> provider it has no registration and is never challenged.
    /// </summary>
    public static IServiceCollection AddGatehouseOidcSignIn(this IServiceCollection services)
    {
        services.AddSingleton<OidcClientSetup>();
        services.AddSingleton<IConfigureOptions<OpenIddictClientOptions>>(sp => sp.GetRequiredService<OidcClientSetup>());
        services.AddSingleton<IOptionsChangeTokenSource<OpenIddictClientOptions>>(sp => sp.GetRequiredService<OidcClientSetup>());
        // After StorageInitializer (registered earlier): the keys come from storage, before the listener opens.
        services.AddHostedService(sp => sp.GetRequiredService<OidcClientSetup>());
        services.AddSingleton<IdpTokenProtector>();
        services.TryAddSingleton(new IdpRefreshSchedule());
        services.AddHostedService<IdpSessionRefresher>();

        services.AddOpenIddict().AddClient(client =>
        {
            client.AllowAuthorizationCodeFlow().AllowRefreshTokenFlow();
            client.SetRedirectionEndpointUris(CallbackPath);
            client.SetPostLogoutRedirectionEndpointUris(SignedOutPath);
            client.AddEventHandler(s_holdChallengeErrors);
            client.AddEventHandler(s_assumePkce);

            // Transport security is the listener's, as for the authorization server: plain HTTP is refused at start-up
            // except on loopback or behind a proxy that ends TLS (insecure_server), where the callback arrives as http.
            // The provider itself must be https unless it is on loopback (checked when the configuration is read).
            client.UseAspNetCore()
                .EnableRedirectionEndpointPassthrough()
                .EnablePostLogoutRedirectionEndpointPassthrough()
                // Errors (the provider's, a bad or replayed state) reach CallbackAsync, which shows them as a page.
                .EnableErrorPassthrough()
                .DisableTransportSecurityRequirement()
                .DisableAutomaticAuthenticationSchemeForwarding();
            // A short retry only (OpenIddict's default waits about 20 s on a dead provider): a browser is waiting, and
            // the refresher tries again on its next pass anyway.
            client.UseSystemNetHttp().SetHttpResiliencePipeline(pipeline => pipeline
                .AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = 2,
                    Delay = TimeSpan.FromMilliseconds(200),
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                })
                .AddTimeout(TimeSpan.FromSeconds(10)));
        });

        return services;
    }

    public static IEndpointRouteBuilder MapOidcCallback(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods(CallbackPath, [HttpMethods.Get, HttpMethods.Post], CallbackAsync).WithOrder(-1).ExcludeFromDescription();
        endpoints.MapMethods(SignedOutPath, [HttpMethods.Get, HttpMethods.Post], SignedOutAsync).WithOrder(-1).ExcludeFromDescription();
        return endpoints;
    }

    /// <summary>
    /// Whether this request starts an OpenID Connect sign-in or sign-out (the sign-in page's GET, the sign-out form's
    /// POST): the OpenIddict client then needs the authentication middleware (which creates its per-request
    /// transaction) and the authorization server's host and scheme rules, so that the redirect URIs it computes match
    /// the ones the provider sends the browser back to.
    /// </summary>
    public static bool IsChallengeRequest(HttpContext context, GatewayState state) =>
        state.Current.Config.Idp is { Provider: IdpProvider.Oidc } &&
        (HttpMethods.IsGet(context.Request.Method) && context.Request.Path.Equals(SignInEndpoints.SignInPath, StringComparison.OrdinalIgnoreCase) ||
            HttpMethods.IsPost(context.Request.Method) && context.Request.Path.Equals(SignInEndpoints.SignOutPath, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Sends the browser to the provider's end-session endpoint with the ID token of the sign-in as
    /// <c>id_token_hint</c> (OpenID Connect RP-Initiated Logout 1.0 §2), so the provider ends its own session too and
    /// the next sign-in asks for credentials again. Gatehouse's sessions are revoked before this. Null when the
    /// provider cannot be sent there (it advertises no <c>end_session_endpoint</c>, or discovery fails): the caller
    /// then ends at the local sign-out page, as with the built-in provider.
    /// </summary>
    public static async Task<IResult?> SignOutAtProviderAsync(HttpContext context, string idToken)
    {
        var properties = new AuthenticationProperties { RedirectUri = SignInEndpoints.SignInPath };
        properties.Items[OpenIddictClientAspNetCoreConstants.Properties.RegistrationId] = RegistrationId;
        properties.Items[OpenIddictClientAspNetCoreConstants.Properties.IdentityTokenHint] = idToken;
        var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory);
        try
        {
            await context.SignOutAsync(OpenIddictClientAspNetCoreDefaults.AuthenticationScheme, properties);
        }
        catch (InvalidOperationException ex)
        {
            // OpenIddict refuses to sign out where the provider's configuration has no end-session endpoint.
            Log.NoProviderSignOut(logger, ex.Message);
            return null;
        }

        if (context.Items[ChallengeErrorItem] is (string error, string description))
        {
            Log.NoProviderSignOut(logger, $"{error} {description}");
            return null;
        }

        return TypedResults.Empty;
    }

    /// <summary>
    /// Where the provider sends the browser after its sign-out. Gatehouse's sessions ended before the browser left, so
    /// this only checks the state (a sign-out this browser started; OpenIddict validates it) and says so.
    /// </summary>
    private static async Task<IResult> SignedOutAsync(HttpContext context, GatewayState state, ILoggerFactory loggers)
    {
        if (state.Current.Config.Idp is not { Provider: IdpProvider.Oidc })
        {
            // The OpenIddict client has no registration to check a state against.
            return ErrorPage(context, "Sign-in through an OpenID Connect provider is not configured on this gateway.", error: null, StatusCodes.Status404NotFound);
        }

        var result = await context.AuthenticateAsync(OpenIddictClientAspNetCoreDefaults.AuthenticationScheme);
        var atProvider = result.Succeeded && context.GetOpenIddictClientResponse() is not { Error: not null };
        if (!atProvider)
        {
            Log.NoProviderSignOut(loggers.CreateLogger(LogCategory), "the provider's answer did not carry a valid state");
        }

        return HtmlPage.Render(context, "Signed out", $"""
            <p>{(atProvider ? "You are signed out of Gatehouse and of your identity provider." : "You are signed out of Gatehouse.")}</p>
            <p><a href="{SignInEndpoints.SignInPath}">Sign in again</a></p>
            """, StatusCodes.Status200OK);
    }

    /// <summary>Sends the browser to the provider (302); it comes back to <see cref="CallbackPath"/>, then to <paramref name="returnPath"/>.</summary>
    public static async Task<IResult> ChallengeAsync(HttpContext context, OidcProviderConfig oidc, string returnPath)
    {
        // The return path travels inside the encrypted state token, never in a cookie or a parameter of ours.
        var properties = new AuthenticationProperties { RedirectUri = returnPath };
        properties.Items[OpenIddictClientAspNetCoreConstants.Properties.RegistrationId] = RegistrationId;
        foreach (var (name, value) in oidc.AuthorizationUrlParams)
        {
            properties.SetParameter(name, value);
        }

        // Discovery (cached afterwards) and the pushed authorization request (RFC 9126) happen here; OpenIddict reports
        // a failure (the provider unreachable too) as an error, which s_holdChallengeErrors keeps for this page.
        await context.ChallengeAsync(OpenIddictClientAspNetCoreDefaults.AuthenticationScheme, properties);
        if (context.Items[ChallengeErrorItem] is (string error, string description))
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory);
            return Failed(context, logger, error, description);
        }

        return TypedResults.Empty;
    }

    /// <summary>
    /// PKCE S256 always (OAuth 2.1 §4.1.1): OpenIddict sends a code challenge only to providers whose discovery document
    /// lists <c>code_challenge_methods_supported</c>, and some that support PKCE leave it out. A provider without PKCE
    /// ignores the extra parameters (RFC 6749 §3.1), so assuming S256 costs nothing.
    /// </summary>
    private static readonly OpenIddictClientHandlerDescriptor s_assumePkce =
        OpenIddictClientHandlerDescriptor.CreateBuilder<OpenIddictClientEvents.HandleConfigurationResponseContext>()
            .UseInlineHandler(context =>
            {
                if (context.Configuration.CodeChallengeMethodsSupported.Count == 0)
                {
                    context.Configuration.CodeChallengeMethodsSupported.Add(CodeChallengeMethods.Sha256);
                }

                return ValueTask.CompletedTask;
            })
            .SetOrder(OpenIddictClientHandlers.Discovery.ExtractCodeChallengeMethods.Descriptor.Order + 500)
            .SetType(OpenIddictClientHandlerType.Custom)
            .Build();

    /// <summary>
    /// OpenIddict answers a challenge it cannot complete (the provider unreachable, a refused pushed authorization
    /// request) with a plain-text error of its own; this handler takes the error instead, for ChallengeAsync to show
    /// as a page. Errors of the redirection endpoint are left to error pass-through and CallbackAsync.
    /// </summary>
    private static readonly OpenIddictClientHandlerDescriptor s_holdChallengeErrors =
        OpenIddictClientHandlerDescriptor.CreateBuilder<OpenIddictClientEvents.ProcessErrorContext>()
            .UseInlineHandler(context =>
            {
                if (context.EndpointType == OpenIddictClientEndpointType.Unknown && context.Transaction.GetHttpRequest() is { } request)
                {
                    request.HttpContext.Items[ChallengeErrorItem] = (context.Error ?? Errors.ServerError, context.ErrorDescription ?? "");
                    context.HandleRequest();
                }

                return ValueTask.CompletedTask;
            })
            .SetOrder(int.MinValue + 100_000)
            .SetType(OpenIddictClientHandlerType.Custom)
            .Build();

    private static async Task<IResult> CallbackAsync(
        HttpContext context, GatewayState state, SessionStore sessions, IdpTokenProtector protector, TimeProvider time, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger(LogCategory);
        if (state.Current.Config.Idp is not { Provider: IdpProvider.Oidc, Oidc: { } oidc } idp)
        {
            return ErrorPage(context, "Sign-in through an OpenID Connect provider is not configured on this gateway.", error: null, StatusCodes.Status404NotFound);
        }

        // By now OpenIddict has checked the state token and its correlation cookie, redeemed the code with the PKCE
        // verifier, validated the ID token and read userinfo; this reads the outcome.
        var result = await context.AuthenticateAsync(OpenIddictClientAspNetCoreDefaults.AuthenticationScheme);
        if (context.GetOpenIddictClientResponse() is { Error: { } rejected } response)
        {
            // Passed through from OpenIddict: the provider's own error, or a state that is invalid, expired or replayed.
            return Failed(context, logger, rejected, response.ErrorDescription);
        }

        if (result.None)
        {
            return ErrorPage(context, "No sign-in is in progress in this browser. Start again.", error: null, StatusCodes.Status400BadRequest);
        }

        if (!result.Succeeded)
        {
            return Failed(context, logger,
                result.Properties?.GetString(OpenIddictClientAspNetCoreConstants.Properties.Error) ?? Errors.InvalidRequest,
                result.Properties?.GetString(OpenIddictClientAspNetCoreConstants.Properties.ErrorDescription));
        }

        var identity = OidcIdentity.From(result.Principal, oidc.GroupsClaim);
        if (identity.Subject is not { Length: <= 320 } subject)
        {
            Log.Refused(logger, "no usable subject (sub)");
            return ErrorPage(context, "The identity provider did not say who you are (no subject). Ask your administrator.", error: null, StatusCodes.Status400BadRequest);
        }

        if (identity.Email is not { Length: <= 320 } email)
        {
            Log.Refused(logger, "no email");
            return ErrorPage(context, "The identity provider did not share your email address, which Gatehouse needs. Ask your administrator to release the `email` claim (scope `email`) to this application.", error: null, StatusCodes.Status400BadRequest);
        }

        if (identity.EmailUnverified)
        {
            Log.Refused(logger, "email_verified is false");
            return ErrorPage(context, "Your email address is not verified at the identity provider. Verify it there, then sign in again.", error: null, StatusCodes.Status400BadRequest);
        }

        var name = identity.Name is { } n ? n[..Math.Min(n.Length, 320)] : email;
        var refreshToken = result.Properties.GetTokenValue(OpenIddictClientAspNetCoreConstants.Tokens.RefreshToken);
        var idToken = result.Properties.GetTokenValue(OpenIddictClientAspNetCoreConstants.Tokens.BackchannelIdentityToken) ??
            result.Properties.GetTokenValue(OpenIddictClientAspNetCoreConstants.Tokens.FrontchannelIdentityToken);
        var accessTokenExpires = ReadDate(result.Properties.GetTokenValue(OpenIddictClientAspNetCoreConstants.Tokens.BackchannelAccessTokenExpirationDate));
        var (cookieValue, session) = await sessions.CreateAsync(email, name, identity.Groups ?? [], idp.SessionLifetime, context.RequestAborted, s =>
        {
            s.Subject = subject;
            s.ProtectedIdpRefreshToken = string.IsNullOrEmpty(refreshToken) ? null : protector.Protect(refreshToken);
            s.ProtectedIdpIdToken = string.IsNullOrEmpty(idToken) ? null : protector.ProtectIdToken(idToken);
            s.IdpAccessTokenExpiresAt = accessTokenExpires ?? time.GetUtcNow() + IdpSessionRefresher.AssumedAccessTokenLifetime;
            s.IdpCheckUntil = s.ExpiresAt;
        });

        SessionStore.AppendCookie(context.Response, cookieValue, session);
        Log.SignedIn(logger, session.Email, session.Groups.Count);
        if (string.IsNullOrEmpty(refreshToken))
        {
            Log.NoRefreshToken(logger, session.Email);
        }

        return TypedResults.Redirect(SignInEndpoints.SafeRedirect(result.Properties.RedirectUri));
    }

    private static ContentHttpResult Failed(HttpContext context, ILogger logger, string error, string? description)
    {
        if (error is Errors.ServerError or Errors.TemporarilyUnavailable)
        {
            var providerUrl = context.RequestServices.GetRequiredService<GatewayState>().Current.Config.Idp?.Oidc?.ProviderUrl.OriginalString ?? "";
            Log.ProviderFailed(logger, providerUrl, error, description ?? "");
        }
        else
        {
            Log.SignInFailed(logger, error, description ?? "");
        }

        return error switch
        {
            Errors.AccessDenied => ErrorPage(context, "The identity provider did not sign you in: access was denied.", error, StatusCodes.Status400BadRequest),
            // OpenIddict reports a provider it could not reach (or that answered 5xx) as server_error.
            Errors.ServerError or Errors.TemporarilyUnavailable => ErrorPage(context, Unreachable, error, StatusCodes.Status502BadGateway),
            _ => ErrorPage(context, "The sign-in could not be completed: " + (description ?? "the identity provider's answer was not valid."), error, StatusCodes.Status400BadRequest),
        };
    }

    private static DateTimeOffset? ReadDate(string? value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var date) ? date : null;

    private static ContentHttpResult ErrorPage(HttpContext context, string message, string? error, int status) =>
        HtmlPage.Render(context, "Cannot sign in", $"""
            <p class="error" role="alert">{HtmlPage.Encode(message)}</p>
            {(error is null ? "" : $"<p>Error code: <code>{HtmlPage.Encode(error)}</code>.</p>")}
            <p><a href="{SignInEndpoints.SignInPath}">Sign in again</a></p>
            """, status);

    /// <summary>Event ids 4010-4019 (sign-in) and 4020-4029 (<see cref="IdpSessionRefresher"/>). Never a token, code or secret.</summary>
    private static partial class Log
    {
        [LoggerMessage(EventId = 4010, Level = LogLevel.Information, Message = "User {Email} signed in through the OpenID Connect provider ({GroupCount} group(s))")]
        public static partial void SignedIn(ILogger logger, string email, int groupCount);

        [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "OpenID Connect sign-in failed: {Error} {Description}")]
        public static partial void SignInFailed(ILogger logger, string error, string description);

        [LoggerMessage(EventId = 4012, Level = LogLevel.Warning, Message = "OpenID Connect sign-in refused: the provider sent {Reason}")]
        public static partial void Refused(ILogger logger, string reason);

        [LoggerMessage(EventId = 4013, Level = LogLevel.Error, Message = "The OpenID Connect provider {ProviderUrl} cannot be reached or failed: {Error} {Description}")]
        public static partial void ProviderFailed(ILogger logger, string providerUrl, string error, string description);

        [LoggerMessage(EventId = 4014, Level = LogLevel.Information, Message = "The provider issued no refresh token for {Email}: the session will not be re-checked with the provider (ask for offline access, see docs/identity-providers.md)")]
        public static partial void NoRefreshToken(ILogger logger, string email);

        [LoggerMessage(EventId = 4015, Level = LogLevel.Warning, Message = "Signed out of Gatehouse only, not at the OpenID Connect provider: {Reason}")]
        public static partial void NoProviderSignOut(ILogger logger, string reason);
    }
}
