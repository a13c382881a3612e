using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Proxy;

namespace Gatehouse.Authorization.ClientMetadata;

/// <summary>The body of a fetched document and how long it may be cached (RFC 9111 §4.2).</summary>
internal sealed record FetchedDocument(byte[] Body, TimeSpan? FreshFor);

/// <summary>
/// Fetches small JSON documents named by untrusted parties (Client ID Metadata Documents): only to public addresses
/// (checked on the address actually connected to, so DNS rebinding cannot slip through), never following a
/// redirect, 200 only, at most <see cref="MaxBytes"/>, within <see cref="Timeout"/>.
/// </summary>
internal sealed class SafeMetadataFetcher : IDisposable
{
    /// <summary>draft-ietf-oauth-client-id-metadata-document: servers should cap documents at about 5 KB.</summary>
    public const int MaxBytes = 5 * 1024;

    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    private readonly HttpClient _client;
    private readonly GatewayState _state;

    public SafeMetadataFetcher(GatewayState state)
    {
        _state = state;
        var handler = OutboundAddressPolicy.CreateHandler(Timeout, _ => AllowPrivate);
        handler.SslOptions.RemoteCertificateValidationCallback = ValidateCertificate;
        _client = new HttpClient(handler) { Timeout = Timeout };
        _client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Gatehouse", "0.1"));
    }

    private (string Path, X509Certificate2Collection Roots)? _customRoots;

    /// <summary>The system's trust, plus <c>tls_custom_ca_file</c> when configured (for documents behind a private CA).</summary>
    private bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        var caFile = _state.Current.Config.AuthorizationServer.ClientIdMetadataDocuments.TlsCustomCaFile;
        if (caFile is null || certificate is null || errors != SslPolicyErrors.RemoteCertificateChainErrors)
        {
            return false;
        }

        var roots = _customRoots is { } cached && cached.Path == caFile ? cached.Roots : LoadRoots(caFile);
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(roots);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }

    private X509Certificate2Collection LoadRoots(string caFile)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(caFile);
        _customRoots = (caFile, roots);
        return roots;
    }

    private bool AllowPrivate => _state.Current.Config.AuthorizationServer.ClientIdMetadataDocuments.AllowPrivateAddresses;

    /// <summary>Fetches <paramref name="url"/>; throws <see cref="MetadataFetchException"/> with a reason safe to show.</summary>
    public async Task<FetchedDocument> GetAsync(Uri url, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex) when (OutboundAddressPolicy.FindRefusal(ex) is { } refusal)
        {
            throw new MetadataFetchException(refusal.Message);
        }
        catch (HttpRequestException ex)
        {
            throw new MetadataFetchException($"cannot be fetched ({ex.HttpRequestError})");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MetadataFetchException($"did not answer within {Timeout.TotalSeconds:0} s");
        }

        using (response)
        {
            if ((int)response.StatusCode is >= 300 and < 400)
            {
                throw new MetadataFetchException($"answered with a redirect ({(int)response.StatusCode}); the document must be served at its own URL");
            }

            if (response.StatusCode != HttpStatusCode.OK)
            {
                throw new MetadataFetchException($"answered {(int)response.StatusCode} instead of 200");
            }

            var body = await OutboundAddressPolicy.ReadCappedAsync(response, MaxBytes, cancellationToken)
                ?? throw new MetadataFetchException($"is larger than {MaxBytes} bytes");
            return new FetchedDocument(body, FreshFor(response));
        }
    }

    public void Dispose() => _client.Dispose();

    /// <summary>Null when the response must not be reused (no-store, no-cache); else its freshness lifetime, if given.</summary>
    private static TimeSpan? FreshFor(HttpResponseMessage response)
    {
        var cache = response.Headers.CacheControl;
        if (cache is { NoStore: true } or { NoCache: true })
        {
            return TimeSpan.Zero;
        }

        if (cache?.MaxAge is { } maxAge)
        {
            return maxAge - (response.Headers.Age ?? TimeSpan.Zero);
        }

        return response.Content.Headers.Expires is { } expires && response.Headers.Date is { } date ? expires - date : null;
    }
}

/// <summary>A document could not be used; the message completes "The client metadata document ...".</summary>
internal sealed class MetadataFetchException(string message) : Exception(message);
