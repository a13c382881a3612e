using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Configuration;
using Gatehouse.Storage;
using Gatehouse.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Tests.Storage;

/// <summary>
/// <c>data_protection</c>: the key ring that protects every stored secret is itself encrypted in the database with a
/// certificate kept outside it, and a restart with the same certificate reads everything back.
/// </summary>
public sealed class DataProtectionAtRestTests
{
    private const string Routes = """
          - name: app
            from: http://127.0.0.1
            to: http://127.0.0.1:9
            allow_public_unauthenticated_access: true
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Certificate_KeyRingEncryptedInDatabase_AndReadBackAfterRestart()
    {
        await using var storage = new SqliteTestStorage();
        var (certificate, key) = WriteCertificate(storage.DataDirectory, "dp", 2048);
        var yaml = $"{storage.Yaml}\ndata_protection: {{certificate_file: '{certificate}', certificate_key_file: '{key}'}}";

        string kid;
        await using (var first = await TestGateway.StartAsync(Routes, yaml))
        {
            await using var scope = first.Services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<GatehouseDbContext>();
            var xml = string.Join("\n", await db.DataProtectionKeys.Select(k => k.Xml!).ToListAsync(Ct));
            kid = (await db.SigningKeys.SingleAsync(Ct)).Id;

            Assert.Contains("EncryptedData", xml, StringComparison.Ordinal);
            Assert.DoesNotContain("<value>", xml, StringComparison.Ordinal);
            Assert.DoesNotContain(first.Logs.Entries, e => e.Message.Contains("No XML encryptor configured", StringComparison.Ordinal));
        }

        await using var second = await TestGateway.StartAsync(Routes, yaml);
        using var jwks = await second.Client.GetAsync("/.well-known/gatehouse/jwks.json", Ct);

        // The signing key (a Data Protection payload) decrypted with the re-read key ring: same kid, no new key.
        Assert.Contains(kid, await jwks.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        await using var verify = second.Services.CreateAsyncScope();
        Assert.Equal(1, await verify.ServiceProvider.GetRequiredService<GatehouseDbContext>().SigningKeys.CountAsync(Ct));
    }

    [Theory]
    [InlineData("ec", "not RSA")]
    [InlineData("rsa1024", "use 2048 or more")]
    public void Config_UnsuitableCertificate_RefusedAtStart(string kind, string reason)
    {
        var directory = Directory.CreateTempSubdirectory("gatehouse-dp-").FullName;
        try
        {
            var (certificate, key) = kind == "ec" ? WriteEcCertificate(directory) : WriteCertificate(directory, "small", 1024);
            var yaml = $"address: 127.0.0.1:0\ndata_protection: {{certificate_file: '{certificate}', certificate_key_file: '{key}'}}\nroutes: []";

            var error = Assert.Single(Assert.Throws<ConfigException>(() => YamlConfigReader.Parse(yaml)).Errors);

            Assert.Equal("data_protection.certificate_file", error.Key);
            Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static (string Certificate, string Key) WriteCertificate(string directory, string name, int bits)
    {
        using var rsa = RSA.Create(bits);
        var request = new CertificateRequest("CN=Gatehouse Data Protection", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        return Write(directory, name, certificate.ExportCertificatePem(), rsa.ExportPkcs8PrivateKeyPem());
    }

    private static (string Certificate, string Key) WriteEcCertificate(string directory)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Gatehouse Data Protection", ecdsa, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(1));
        return Write(directory, "ec", certificate.ExportCertificatePem(), ecdsa.ExportPkcs8PrivateKeyPem());
    }

    private static (string, string) Write(string directory, string name, string certificatePem, string keyPem)
    {
        var certificate = Path.Combine(directory, name + ".crt");
        var key = Path.Combine(directory, name + ".key");
        File.WriteAllText(certificate, certificatePem);
        File.WriteAllText(key, keyPem);
        return (certificate, key);
    }
}
