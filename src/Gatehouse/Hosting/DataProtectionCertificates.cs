using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gatehouse.Hosting;

/// <summary>
/// Loads the certificates that encrypt the Data Protection key ring at rest. ASP.NET Core's
/// <c>ProtectKeysWithCertificate</c> wraps each key with the certificate's RSA public key (XML Encryption), so the key
/// ring in the database is useless without the private key, which stays in a file outside the database.
/// </summary>
internal static class DataProtectionCertificates
{
    /// <summary>Null when the pair loads and has an RSA key of at least 2048 bits; else the reason (never key material).</summary>
    public static string? Check(string certificateFile, string keyFile)
    {
        try
        {
            using var certificate = Load(certificateFile, keyFile);
            using var rsa = certificate.GetRSAPrivateKey();
            if (rsa is null)
            {
                return "the certificate's key is not RSA; Data Protection's XML encryption needs an RSA key (2048 bits or more)";
            }

            return rsa.KeySize < 2048 ? $"the RSA key has {rsa.KeySize} bits; use 2048 or more" : null;
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or ArgumentException)
        {
            return $"cannot load the PEM certificate and key ({ex.Message})";
        }
    }

    /// <summary>
    /// The certificate with its private key, in a form the XML decryptor can use on Linux (an ephemeral key from PEM
    /// is re-imported through PKCS#12).
    /// </summary>
    public static X509Certificate2 Load(string certificateFile, string keyFile)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), password: null);
    }
}
