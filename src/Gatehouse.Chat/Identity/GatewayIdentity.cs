using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Chat.Identity;

/// <summary>
/// Every request must come through Gatehouse: it carries the identity assertion (an ES256 JWT signed with the
/// gateway's keys, docs/authorization.md "The identity assertion") and the TE (docs/portal.md "Client routes and the
/// TE"). A request without a valid assertion is refused with 401 before any page or Blazor circuit sees it.
/// </summary>
/// <remarks>
/// The user, and the TE, become <see cref="HttpContext.User"/>. Blazor hands the user of the request that opens a
/// circuit (the SignalR connection, which also comes through the gateway) to the circuit's
/// <c>AuthenticationStateProvider</c>, so components read the TE from there: the one of the request that opened
/// their circuit, valid five minutes. It never reaches the browser.
/// </remarks>
internal static partial class GatewayIdentity
{
    /// <summary>The claim that carries the TE inside the app's process (never serialized, never logged).</summary>
    public const string TeClaim = "gatehouse:te";

    public const string AuthenticationType = "Gatehouse";

    public static IServiceCollection AddGatewayIdentity(this IServiceCollection services)
    {
        services.AddHttpClient(nameof(GatewayKeys));
        services.AddSingleton<GatewayKeys>();
        services.AddSingleton<AssertionValidator>();
        services.AddSingleton<TeRefresh>();
        services.AddScoped<CircuitUser>();
        return services;
    }

    public static IApplicationBuilder UseGatewayIdentity(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var options = context.RequestServices.GetRequiredService<ChatAppOptions>();
            var validator = context.RequestServices.GetRequiredService<AssertionValidator>();
            var assertion = context.Request.Headers[options.AssertionHeader].ToString();
            var authorization = context.Request.Headers.Authorization.ToString();
            var principal = assertion.Length == 0 ? null : await validator.ValidateAsync(assertion, context.RequestAborted);

            // RFC 6750 §2.1: the gateway sets "Authorization: Bearer <TE>" on every request of a client route.
            if (principal is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers[HeaderNames.CacheControl] = "no-store";
                await context.Response.WriteAsync(
                    "Gatehouse Chat is served through Gatehouse: open it at " + options.PublicUrl +
                    " (this request carries no valid identity assertion from the gateway).", context.RequestAborted);
                return;
            }

            var identity = (ClaimsIdentity)principal.Identity!;
            identity.AddClaim(new Claim(TeClaim, authorization["Bearer ".Length..].Trim()));
            context.User = principal;
            await next(context);
        });
}

/// <summary>Checks an identity assertion: signature by a key of the gateway's JWKS, ES256, issuer, audience, lifetime.</summary>
internal sealed partial class AssertionValidator(GatewayKeys keys, ChatAppOptions options, ILogger<AssertionValidator> logger)
{
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    /// <summary>
    /// The assertion's <c>aud</c> holds the gateway's host name and the route's URL; requiring the route's URL
    /// refuses an assertion the gateway made for another app on the same host (docs/authorization.md).
    /// </summary>
    private string Audience { get; } = options.PublicUrl.GetLeftPart(UriPartial.Path).TrimEnd('/');

    public async Task<ClaimsPrincipal?> ValidateAsync(string assertion, CancellationToken cancellationToken)
    {
        string? kid;
        try
        {
            kid = new JsonWebToken(assertion).Kid;
        }
        catch (ArgumentException)
        {
            LogRefused(logger, "not a JWT");
            return null;
        }

        var parameters = new TokenValidationParameters
        {
            // The issuer is the host name the browser used (Pomerium's convention, which Gatehouse follows).
            ValidIssuer = options.PublicUrl.IdnHost,
            AudienceValidator = (audiences, _, _) => audiences.Any(a => string.Equals(a.TrimEnd('/'), Audience, StringComparison.OrdinalIgnoreCase)),
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            IssuerSigningKeys = await keys.GetAsync(kid, cancellationToken),
            ClockSkew = TimeSpan.FromSeconds(30),
            NameClaimType = "email",
            AuthenticationType = GatewayIdentity.AuthenticationType,
        };
        var result = await _handler.ValidateTokenAsync(assertion, parameters);
        if (!result.IsValid)
        {
            LogRefused(logger, result.Exception?.GetType().Name ?? "invalid");
            return null;
        }

        return new ClaimsPrincipal(result.ClaimsIdentity);
    }

    // The reason is an exception type name, never the token.
    [LoggerMessage(EventId = 9001, Level = LogLevel.Warning, Message = "Refused a request whose identity assertion is not valid ({Reason})")]
    private static partial void LogRefused(ILogger logger, string reason);
}
