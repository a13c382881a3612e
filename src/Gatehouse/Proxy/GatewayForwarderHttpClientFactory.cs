using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Yarp.ReverseProxy.Forwarder;

namespace Gatehouse.Proxy;

/// <summary>
/// YARP's client factory, extended per cluster for <c>tls_custom_ca_file</c> (an upstream whose certificate chains
/// to the configured CA is trusted, and nothing else is) and for the response-headers timeout of MCP routes.
/// </summary>
internal sealed class GatewayForwarderHttpClientFactory(ILogger<ForwarderHttpClientFactory> logger) : ForwarderHttpClientFactory(logger)
{
    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        if (context.NewMetadata?.TryGetValue(YarpConfigBuilder.CustomCaMetadataKey, out var caFile) != true || caFile is null)
        {
            return;
        }

        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(caFile);
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0 || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(roots);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(new X509Certificate2(certificate));
        };
    }

    protected override HttpMessageHandler WrapHandler(ForwarderHttpClientContext context, HttpMessageHandler handler)
    {
        handler = base.WrapHandler(context, handler);
        if (context.NewMetadata?.TryGetValue(YarpConfigBuilder.ResponseHeadersTimeoutMetadataKey, out var text) == true &&
            long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds))
        {
            return new ResponseHeadersTimeoutHandler(TimeSpan.FromMilliseconds(milliseconds)) { InnerHandler = handler };
        }

        return handler;
    }

    /// <summary>
    /// Bounds the wait for the upstream's response headers, then lets the body stream for as long as it lasts:
    /// the SSE stream of a long tool call must not be cut by the timeout that catches a hung upstream.
    /// </summary>
    private sealed class ResponseHeadersTimeoutHandler(TimeSpan timeout) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                return await base.SendAsync(request, deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"The upstream sent no response within {timeout.TotalSeconds:0.###} s (route timeout).");
            }
        }
    }
}
