using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Servers.Notes.SignIn;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Servers.Notes.Authorization;

/// <summary>
/// Client ID Metadata Documents (MCP authorization 2025-11-25, "Client ID Metadata Documents";
/// draft-ietf-oauth-client-id-metadata-document): a client whose <c>client_id</c> is an https URL is described by the
/// JSON document at that URL. On an authorization request with such a client id, the document is fetched, checked
/// (its <c>client_id</c> is the URL itself, §4.1; its redirect URIs pass <see cref="RedirectUriPolicy"/>) and stored as
/// a public OpenIddict application, so that OpenIddict then validates the request, PKCE and the code exchange as for
/// any other client. Runs before the authentication middleware, where OpenIddict reads the request.
/// </summary>
internal sealed class ClientMetadataDocuments(RequestDelegate next, NotesServerOptions options, ClientMetadataFetcher fetcher, ILogger<ClientMetadataDocuments> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.Equals(AuthorizationServer.AuthorizePath, StringComparison.OrdinalIgnoreCase) ||
            await ClientIdAsync(context.Request) is not { } clientId ||
            !IsMetadataUrl(clientId, options, out var url))
        {
            await next(context);
            return;
        }

        var (document, problem) = await fetcher.FetchAsync(url, context.RequestAborted);
        if (document is null)
        {
            // The client is not verified, so its redirect URI is not either: the user sees the error (OAuth 2.1 §4.1.2.1).
            Log.ClientMetadataRefused(logger, clientId, problem!);
            await Pages.Error(context, $"The application's metadata document at {clientId} cannot be used: {problem}.", Errors.InvalidClient)
                .ExecuteAsync(context);
            return;
        }

        await context.RequestServices.GetRequiredService<ClientStore>().SaveMetadataClientAsync(clientId, document, context.RequestAborted);
        await next(context);
    }

    /// <summary>
    /// Whether <paramref name="clientId"/> names a metadata document: an https URL with a path and no fragment, user
    /// info or dot segments (§3). A server that serves loopback only (no <see cref="NotesServerOptions.PublicUrl"/>)
    /// also takes http on a loopback host, so that a gateway or client on the same machine can be tested without TLS.
    /// </summary>
    public static bool IsMetadataUrl(string clientId, NotesServerOptions options, out Uri url)
    {
        url = null!;
        if (!options.ClientIdMetadataDocuments || !Uri.TryCreate(clientId, UriKind.Absolute, out var parsed) ||
            parsed.Fragment.Length > 0 || parsed.UserInfo.Length > 0 || parsed.AbsolutePath is "/" or "" ||
            clientId.Contains("/./", StringComparison.Ordinal) || clientId.Contains("/../", StringComparison.Ordinal))
        {
            return false;
        }

        var allowed = parsed.Scheme == Uri.UriSchemeHttps ||
            (parsed.Scheme == Uri.UriSchemeHttp && options.PublicUrl is null && RedirectUriPolicy.IsLoopbackHost(parsed.Host));
        url = parsed;
        return allowed;
    }

    private static async Task<string?> ClientIdAsync(HttpRequest request)
    {
        if (HttpMethods.IsGet(request.Method))
        {
            return request.Query[Parameters.ClientId];
        }

        return HttpMethods.IsPost(request.Method) && request.HasFormContentType
            ? (string?)(await request.ReadFormAsync(request.HttpContext.RequestAborted))[Parameters.ClientId]
            : null;
    }
}

/// <summary>
/// Fetches client metadata documents: no redirects, 5 seconds, 64 KiB, and never from a private, link-local or
/// loopback address, so a client id cannot make the server probe its network (§6, server-side request forgery).
/// The one exception is a loopback-only server (no <see cref="NotesServerOptions.PublicUrl"/>) fetching from a
/// loopback host name, the development setup.
/// </summary>
internal sealed class ClientMetadataFetcher : IDisposable
{
    private const int MaxBytes = 64 * 1024;
    private const int MaxRedirectUris = 10;

    private readonly HttpClient _http;

    public ClientMetadataFetcher(NotesServerOptions options)
    {
        // Loopback only for a server that serves loopback itself: a public one must not reach its own machine.
        var loopbackAllowed = options.PublicUrl is null;
        _http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = TimeSpan.FromSeconds(5),
            ConnectCallback = (context, cancellationToken) => ConnectAsync(context, loopbackAllowed, cancellationToken),
        })
        {
            Timeout = TimeSpan.FromSeconds(5),
            MaxResponseContentBufferSize = MaxBytes,
        };
    }

    public async Task<(ClientMetadataDocument? Document, string? Problem)> FetchAsync(Uri url, CancellationToken cancellationToken)
    {
        ClientMetadataDocument? document;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Accept.ParseAdd("application/json");
            using var response = await _http.SendAsync(request, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return (null, $"it answered {(int)response.StatusCode} instead of 200");
            }

            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            document = JsonSerializer.Deserialize(body, NotesJsonContext.Default.ClientMetadataDocument);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException && !cancellationToken.IsCancellationRequested)
        {
            return (null, ex is JsonException ? "it is not a JSON object of client metadata" : "it could not be fetched (" + ex.Message + ")");
        }

        if (document is null || !string.Equals(document.ClientId, url.OriginalString, StringComparison.Ordinal))
        {
            return (null, "its client_id is not its own URL (§4.1)");
        }

        if (document.RedirectUris is not { Length: > 0 and <= MaxRedirectUris } redirectUris)
        {
            return (null, $"redirect_uris must list 1 to {MaxRedirectUris} redirect URIs");
        }

        foreach (var uri in redirectUris)
        {
            if (RedirectUriPolicy.Check(uri ?? "") is { } problem)
            {
                return (null, $"the redirect URI '{uri}' {problem}");
            }
        }

        // A document is public; it cannot hold a secret, and this server takes no private_key_jwt.
        if (document.TokenEndpointAuthMethod is not (null or ClientAuthenticationMethods.None))
        {
            return (null, "token_endpoint_auth_method must be none (a public client with PKCE)");
        }

        return (document, null);
    }

    public void Dispose() => _http.Dispose();

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, bool loopbackAllowed, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
        var loopback = loopbackAllowed && RedirectUriPolicy.IsLoopbackHost(host);
        var usable = addresses.Where(a => loopback ? IPAddress.IsLoopback(a) : IsPublic(a)).ToArray();
        if (usable.Length == 0)
        {
            throw new HttpRequestException($"{host} has no public address");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(usable, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Not loopback, private (RFC 1918, RFC 4193), shared (RFC 6598), link-local or unspecified.</summary>
    internal static bool IsPublic(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6None) || address.Equals(IPAddress.IPv6Any))
        {
            return false;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            var first = address.GetAddressBytes()[0];
            return !address.IsIPv6LinkLocal && !address.IsIPv6SiteLocal && (first & 0xFE) != 0xFC && !address.IsIPv6Multicast;
        }

        var b = address.GetAddressBytes();
        return b[0] switch
        {
            0 or 10 or 127 or >= 224 => false,
            100 => b[1] is < 64 or > 127,
            169 => b[1] != 254,
            172 => b[1] is < 16 or > 31,
            192 => b[1] != 168,
            _ => true,
        };
    }
}

/// <summary>The members of a client metadata document this server reads (RFC 7591 §2); others are ignored.</summary>
internal sealed record ClientMetadataDocument(
    [property: JsonPropertyName("client_id")] string? ClientId,
    [property: JsonPropertyName("client_name")] string? ClientName,
    [property: JsonPropertyName("redirect_uris")] string?[]? RedirectUris,
    [property: JsonPropertyName("token_endpoint_auth_method")] string? TokenEndpointAuthMethod);
