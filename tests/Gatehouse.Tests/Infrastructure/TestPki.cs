using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gatehouse.Tests.Infrastructure;

/// <summary>A throwaway CA and a leaf certificate for 127.0.0.1, written as PEM files.</summary>
internal sealed class TestPki : IDisposable
{
    private readonly string _directory;
    private readonly X509Certificate2 _ca;

    private TestPki(string directory, X509Certificate2 ca)
    {
        _directory = directory;
        _ca = ca;
    }

    public string CaCertificatePath => Path.Combine(_directory, "ca.pem");

    public string LeafCertificatePath => Path.Combine(_directory, "leaf.pem");

    public string LeafKeyPath => Path.Combine(_directory, "leaf.key");

    /// <summary>The leaf with its private key, for a Kestrel HTTPS listener.</summary>
    public X509Certificate2 LoadLeaf() => X509Certificate2.CreateFromPemFile(LeafCertificatePath, LeafKeyPath);

    public static TestPki Create()
    {
        var directory = Directory.CreateTempSubdirectory("gatehouse-pki-").FullName;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Gatehouse Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

        // The leaf ends before the CA: certificate times are whole seconds, so "now + 1 day" computed a moment
        // later could round past the CA's NotAfter and be refused.
        using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var leafRequest = new CertificateRequest("CN=127.0.0.1", leafKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        leafRequest.CertificateExtensions.Add(san.Build());
        leafRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var leaf = leafRequest.Create(ca, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(23), RandomNumberGenerator.GetBytes(8));

        var pki = new TestPki(directory, ca);
        File.WriteAllText(pki.CaCertificatePath, ca.ExportCertificatePem());
        File.WriteAllText(pki.LeafCertificatePath, leaf.ExportCertificatePem());
        File.WriteAllText(pki.LeafKeyPath, leafKey.ExportPkcs8PrivateKeyPem());
        return pki;
    }

    public HttpClient CreateTrustingClient(Uri baseAddress)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(_ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return certificate is not null && chain.Build(new X509Certificate2(certificate));
        };
        return new HttpClient(handler) { BaseAddress = baseAddress };
    }

    public void Dispose()
    {
        _ca.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
