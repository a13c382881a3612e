using System.Security.Claims;
using System.Text.Encodings.Web;
using Gatehouse.Servers.Notes.Storage;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Servers.Notes.ResourceServer;

/// <summary>
/// Bearer authentication of the MCP endpoint with this server's own access tokens (RFC 6750, RFC 9068): an ES256
/// JWT of type <c>at+jwt</c>, signed with the server's key, issued by this server for this MCP endpoint
/// (<c>aud</c>, RFC 8707), not expired, and whose token entry is still valid, so a revoked grant (a replayed
/// refresh token or code, RFC 7009 revocation) stops working at once. The challenge is MCP's: a 401 that points to
/// the protected resource metadata (RFC 9728 §5.1).
/// </summary>
internal sealed class AccessTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory loggers, UrlEncoder encoder,
    NotesKeys keys, NotesUrls urls, IOpenIddictTokenManager tokens)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggers, encoder)
{
    public const string SchemeName = "Notes.AccessToken";

    private const int MaxTokenLength = 8192;

    private static readonly JsonWebTokenHandler s_tokens = new() { MapInboundClaims = false };

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (BearerToken(Request.Headers.Authorization.ToString()) is not { } token)
        {
            return AuthenticateResult.NoResult();
        }

        if (token.Length is 0 or > MaxTokenLength)
        {
            return Refuse("The access token is malformed.");
        }

        var result = await s_tokens.ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKey = keys.SigningKey,
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            ValidTypes = ["at+jwt", "application/at+jwt"],
            ValidIssuer = urls.Issuer(Request),
            ValidAudience = urls.Resource(Request),
            RequireExpirationTime = true,
            RequireSignedTokens = true,
            // The same process issues and checks these tokens, so there is no second clock to allow for; a lifetime of a
            // few seconds (refresh tests) then means exactly that.
            ClockSkew = TimeSpan.Zero,
            NameClaimType = Claims.Name,
            RoleClaimType = Claims.Role,
            AuthenticationType = SchemeName,
        });
        if (!result.IsValid)
        {
            return Refuse(Describe(result.Exception));
        }

        var identity = result.ClaimsIdentity;
        if (identity.FindFirst(Claims.Subject) is null)
        {
            return Refuse("The access token has no subject.");
        }

        // OpenIddict keeps an entry per access token and revokes it with its grant.
        if (identity.FindFirst(Claims.Private.TokenId)?.Value is not { } tokenId ||
            await tokens.FindByIdAsync(tokenId, Context.RequestAborted) is not { } entry ||
            !await tokens.HasStatusAsync(entry, Statuses.Valid, Context.RequestAborted))
        {
            return Refuse("The access token has been revoked.");
        }

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        // RFC 6750 §3.1: invalid_token only when a token was sent; a request without one gets the bare challenge.
        var failure = (await HandleAuthenticateOnceSafeAsync()).Failure?.Message;
        BearerChallenge.Write(Context, urls, StatusCodes.Status401Unauthorized, NotesScopesHeader,
            failure is null ? null : ("invalid_token", failure));
    }

    /// <summary>The scopes a new client should ask for (MCP authorization, "Scope Selection Strategy").</summary>
    private static readonly string NotesScopesHeader = string.Join(' ', Authorization.NotesScopes.Resource);

    private AuthenticateResult Refuse(string reason)
    {
        Log.TokenRefused(Logger, reason);
        return AuthenticateResult.Fail(reason);
    }

    /// <summary>The token of an <c>Authorization: Bearer</c> header (scheme without case, RFC 6750 §2.1), else null.</summary>
    internal static string? BearerToken(string header)
    {
        const string Prefix = "Bearer ";
        return header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase) ? header[Prefix.Length..].Trim() : null;
    }

    private static string Describe(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => "The access token has expired.",
        SecurityTokenNotYetValidException => "The access token is not valid yet.",
        SecurityTokenInvalidAudienceException => "The access token was issued for another resource; ask for one for this MCP server (RFC 8707 resource).",
        SecurityTokenInvalidIssuerException => "The access token was issued by another authorization server.",
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "The access token's signature is not valid.",
        SecurityTokenInvalidAlgorithmException => "The access token must be signed with ES256.",
        SecurityTokenInvalidTypeException => "The token is not an access token (RFC 9068 typ at+jwt).",
        SecurityTokenNoExpirationException => "The access token has no expiry.",
        _ => "The access token is malformed or not valid.",
    };
}
