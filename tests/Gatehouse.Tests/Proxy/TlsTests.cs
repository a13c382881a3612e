using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;

namespace Gatehouse.Tests.Proxy;

/// <summary>TLS on both sides: Gatehouse's own listener, and upstreams signed by a private CA.</summary>
public sealed class TlsTests : IDisposable
{
    private readonly TestPki _pki = TestPki.Create();

    [Fact]
    public async Task Listener_CertificateFiles_ServesHttps()
    {
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/web/x", () => "over tls"));
        await using var gateway = await TestGateway.StartAsync(
            ErrorShapeTests.Route("web", upstream.Origin, mcp: false),
            $"certificate_file: {_pki.LeafCertificatePath}\ncertificate_key_file: {_pki.LeafKeyPath}");

        Assert.Equal("https", gateway.BaseUri.Scheme);
        using var client = _pki.CreateTrustingClient(gateway.BaseUri);
        Assert.Equal("over tls", await client.GetStringAsync("/web/x", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Upstream_SignedByCustomCa_TrustedOnlyWithThatCaOrSkipVerify()
    {
        using var leaf = X509Certificate2.CreateFromPemFile(_pki.LeafCertificatePath, _pki.LeafKeyPath);
        await using var upstream = await TestUpstream.StartAsync(app => app.MapGet("/{**rest}", () => "tls upstream"), httpsCertificate: leaf);
        await using var gateway = await TestGateway.StartAsync($"""
              - name: trusted
                from: http://127.0.0.1
                prefix: /trusted
                to: {upstream.Origin}
                allow_public_unauthenticated_access: true
                tls_custom_ca_file: {_pki.CaCertificatePath}
              - name: untrusted
                from: http://127.0.0.1
                prefix: /untrusted
                to: {upstream.Origin}
                allow_public_unauthenticated_access: true
              - name: skip
                from: http://127.0.0.1
                prefix: /skip
                to: {upstream.Origin}
                allow_public_unauthenticated_access: true
                tls_skip_verify: true
            """);

        Assert.StartsWith("https://", upstream.Origin, StringComparison.Ordinal);
        using var trusted = await gateway.Client.GetAsync("/trusted/a", TestContext.Current.CancellationToken);
        using var untrusted = await gateway.Client.GetAsync("/untrusted/a", TestContext.Current.CancellationToken);
        using var skip = await gateway.Client.GetAsync("/skip/a", TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, trusted.StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, untrusted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, skip.StatusCode);
    }

    public void Dispose() => _pki.Dispose();
}
