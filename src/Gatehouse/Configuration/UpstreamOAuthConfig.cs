using System.Collections.Frozen;
using System.Text;

namespace Gatehouse.Configuration;

/// <summary>
/// How the client authenticates at the upstream's token endpoint (<c>endpoint.auth_style</c>, Pomerium's key): HTTP
/// Basic (<c>client_secret_basic</c>), form parameters (<c>client_secret_post</c>), or unset: Basic first, then the
/// body, remembering which one the provider took (as Go's oauth2 does).
/// </summary>
internal enum UpstreamAuthStyle
{
    Auto,
    InHeader,
    InParams,
}

/// <summary>
/// <c>mcp.server.upstream_oauth2</c>: a client Gatehouse is registered as at the upstream's authorization server.
/// With <see cref="Endpoint"/> the endpoints are fixed (a provider such as GitHub that publishes no metadata);
/// without it they are discovered (RFC 9728, RFC 8414) and only the client identity is fixed (MCP authorization,
/// "Client Registration": pre-registration). The secret is left out of <see cref="ToString"/>.
/// </summary>
internal sealed record UpstreamOAuth2Config
{
    public required string ClientId { get; init; }

    public string? ClientSecret { get; init; }

    /// <summary>Scopes to ask for; with discovery, used when neither the challenge nor the metadata names any.</summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];

    /// <summary>Extra query parameters for the authorization request (<c>authorization_url_params</c>).</summary>
    public IReadOnlyDictionary<string, string> AuthorizationUrlParams { get; init; } = FrozenDictionary<string, string>.Empty;

    public UpstreamOAuth2Endpoint? Endpoint { get; init; }

    /// <summary>Token endpoint authentication, also when the endpoints are discovered.</summary>
    public UpstreamAuthStyle AuthStyle { get; init; }

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("ClientId = ").Append(ClientId)
            .Append(", ClientSecret = ").Append(ClientSecret is null ? "null" : "(redacted)")
            .Append(", Scopes = [").AppendJoin(", ", Scopes).Append("], Endpoint = ").Append(Endpoint)
            .Append(", AuthStyle = ").Append(AuthStyle);
        return true;
    }
}

/// <summary><c>upstream_oauth2.endpoint</c>: the provider's authorization and token endpoints.</summary>
internal sealed record UpstreamOAuth2Endpoint(Uri AuthUrl, Uri TokenUrl);
