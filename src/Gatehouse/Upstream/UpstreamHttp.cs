using System.Net;
using System.Net.Http.Headers;
using Gatehouse.Authorization.ClientMetadata;
using Gatehouse.Configuration;

namespace Gatehouse.Upstream;

/// <summary>
/// Which hosts one upstream's OAuth traffic may reach on private addresses: the route's own <c>to</c> hosts (an
/// administrator named them) and <c>mcp_allowed_as_metadata_domains</c>. Everything else must be public, and plain
/// http is accepted only for these hosts and loopback development setups.
/// </summary>
internal sealed record OutboundPolicy(IReadOnlyList<string> TrustedHosts, IReadOnlyList<string> AllowedDomains)
{
    public static OutboundPolicy PublicOnly { get; } = new([], []);

    public bool AllowsPrivate(string host) =>
        TrustedHosts.Any(h => string.Equals(h, host, StringComparison.OrdinalIgnoreCase)) || HostAllowlist.Contains(AllowedDomains, host);

    /// <summary>
    /// Whether Gatehouse may contact the host at all: with a non-empty <c>mcp_allowed_as_metadata_domains</c>, only
    /// listed hosts and the route's own; without one, any host (public addresses only, as the connect step checks).
    /// </summary>
    public bool Permits(string host) => AllowedDomains.Count == 0 || AllowsPrivate(host);

    /// <summary>A route's policy: its <c>to</c> hosts plus the configured allowlist.</summary>
    public static OutboundPolicy For(GatewayRoute route, GatewayConfig config) =>
        new([.. route.To.Select(u => u.Host)], config.McpAllowedAsMetadataDomains);
}

/// <summary>A response read whole (bounded), for metadata, registration and token endpoints.</summary>
internal sealed record UpstreamHttpResponse(HttpStatusCode Status, HttpResponseHeaders Headers, HttpContentHeaders ContentHeaders, byte[] Body);

/// <summary>
/// Every request Gatehouse makes for upstream OAuth (discovery, registration, token, revocation, and the probe of an
/// upstream MCP server) goes through here: built for URLs that an upstream chooses (its 401, its metadata), so it
/// never follows a redirect, reads at most <see cref="MaxBytes"/>, gives up after <see cref="Timeout"/>, and connects
/// to private, loopback or link-local addresses only for hosts the <see cref="OutboundPolicy"/> trusts (checked on
/// the address actually connected to).
/// </summary>
internal sealed class UpstreamHttp : IDisposable
{
    /// <summary>Metadata documents of real providers run to a few kilobytes; token responses are smaller.</summary>
    public const int MaxBytes = 64 * 1024;

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private static readonly HttpRequestOptionsKey<OutboundPolicy> s_policyKey = new("gatehouse.upstream-policy");

    private readonly HttpClient _client;

    public UpstreamHttp()
    {
        var handler = OutboundAddressPolicy.CreateHandler(Timeout, context =>
            (context.InitialRequestMessage.Options.TryGetValue(s_policyKey, out var policy) ? policy : OutboundPolicy.PublicOnly).AllowsPrivate(context.DnsEndPoint.Host));
        _client = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Gatehouse", "0.1"));
    }

    /// <summary>Refuses plain http except for trusted hosts and loopback: tokens and codes would travel in clear text.</summary>
    public static void CheckScheme(Uri url, OutboundPolicy policy, string what)
    {
        if (url.Scheme == Uri.UriSchemeHttps)
        {
            return;
        }

        if (url.Scheme != Uri.UriSchemeHttp || !(Authorization.RedirectUriRules.IsLoopbackHost(url.Host) || policy.AllowsPrivate(url.Host)))
        {
            throw new UpstreamOAuthException(UpstreamFailure.Refused,
                $"{what} {url.GetLeftPart(UriPartial.Path)} is not https (plain http is used only for loopback and the route's own upstream hosts)");
        }
    }

    /// <summary>Sends a request and reads its whole (bounded) answer. Throws <see cref="UpstreamOAuthException"/> for transport failures.</summary>
    public async Task<UpstreamHttpResponse> SendAsync(HttpRequestMessage request, OutboundPolicy policy, string what, CancellationToken cancellationToken)
    {
        using var response = await SendHeadersAsync(request, policy, what, cancellationToken);
        byte[]? body;
        try
        {
            body = await OutboundAddressPolicy.ReadCappedAsync(response, MaxBytes, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new UpstreamOAuthException(UpstreamFailure.Unavailable, $"{what} broke off its answer");
        }

        return body is null
            ? throw new UpstreamOAuthException(UpstreamFailure.Discovery, $"{what} answered with more than {MaxBytes / 1024} KiB")
            : new UpstreamHttpResponse(response.StatusCode, response.Headers, response.Content.Headers, body);
    }

    /// <summary>Sends a request and returns once the headers arrived; the caller disposes the response (its body is not read).</summary>
    public async Task<HttpResponseMessage> SendHeadersAsync(HttpRequestMessage request, OutboundPolicy policy, string what, CancellationToken cancellationToken)
    {
        CheckScheme(request.RequestUri!, policy, what);
        if (!policy.Permits(request.RequestUri!.Host))
        {
            throw new UpstreamOAuthException(UpstreamFailure.Refused,
                $"{what} {request.RequestUri.GetLeftPart(UriPartial.Authority)} is not in mcp_allowed_as_metadata_domains; add its host there if it is trusted");
        }

        request.Options.Set(s_policyKey, policy);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        try
        {
            return await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
        }
        catch (HttpRequestException ex) when (OutboundAddressPolicy.FindRefusal(ex) is { } refusal)
        {
            throw new UpstreamOAuthException(UpstreamFailure.Refused, $"{what} {request.RequestUri!.GetLeftPart(UriPartial.Authority)} {refusal.Message}; " +
                "list its host in mcp_allowed_as_metadata_domains if it is yours");
        }
        catch (HttpRequestException ex)
        {
            throw new UpstreamOAuthException(UpstreamFailure.Unavailable, $"{what} {request.RequestUri!.GetLeftPart(UriPartial.Authority)} cannot be reached ({ex.HttpRequestError})");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new UpstreamOAuthException(UpstreamFailure.Unavailable, $"{what} {request.RequestUri!.GetLeftPart(UriPartial.Authority)} did not answer within {Timeout.TotalSeconds:0} s");
        }
    }

    public void Dispose() => _client.Dispose();
}
