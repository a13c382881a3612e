using Gatehouse.Proxy;

namespace Gatehouse.Upstream;

/// <summary>Where a user stands with the upstream OAuth of one MCP server route.</summary>
/// <param name="NeedsOAuth">The route's MCP server wants its own OAuth token (configured or discovered).</param>
/// <param name="Connected">The user has a usable upstream token for it.</param>
/// <param name="TokenExpiresAt">When that token expires (it is refreshed ahead of this), if known.</param>
internal sealed record UpstreamStatus(bool NeedsOAuth, bool Connected, DateTimeOffset? TokenExpiresAt)
{
    public static UpstreamStatus NotNeeded { get; } = new(false, true, null);
}

/// <summary>
/// Per-user connections to MCP servers that have their own OAuth (TI, the upstream token, in seed 001's vocabulary):
/// what the routes listing, the connect and disconnect endpoints, the portal and the authorization endpoint ask.
/// </summary>
internal interface IUpstreamConnections
{
    /// <summary>
    /// Whether the route needs upstream OAuth, and whether <paramref name="subject"/> is connected. With
    /// <paramref name="discover"/> false, only what is already known counts (no request to the upstream).
    /// </summary>
    ValueTask<UpstreamStatus> GetStatusAsync(string subject, CompiledRoute route, CancellationToken cancellationToken, bool discover = true);

    /// <summary>
    /// Starts connecting <paramref name="subject"/> to the route's upstream: the URL to send the browser to. When the
    /// upstream's authorization ends, the browser comes back to <paramref name="returnUrl"/> (a local path or an
    /// already-validated absolute URL), with <c>connect_error=...</c> added on failure.
    /// </summary>
    Task<Uri> BeginConnectAsync(HttpContext context, string subject, CompiledRoute route, string returnUrl, CancellationToken cancellationToken);

    /// <summary>Forgets the user's upstream token for the route (revoking it at the provider when it can).</summary>
    Task DisconnectAsync(string subject, CompiledRoute route, CancellationToken cancellationToken);
}
