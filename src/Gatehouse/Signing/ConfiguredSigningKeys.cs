using System.Security.Cryptography;

namespace Gatehouse.Signing;

/// <summary>
/// Signing keys given in the configuration (<c>authorization_server.signing_key_file</c>): a PEM file of EC P-256
/// private keys. The first key signs; the others stay published so tokens they signed remain valid while they live.
/// </summary>
internal static class ConfiguredSigningKeys
{
    /// <summary>Null when the file holds at least one usable key and nothing else, else what is wrong (never the key).</summary>
    public static string? Check(string path)
    {
        try
        {
            var keys = Load(path);
            foreach (var key in keys)
            {
                key.Dispose();
            }

            return null;
        }
        catch (Exception ex) when (ex is CryptographicException or IOException or ArgumentException or InvalidDataException)
        {
            return ex.Message;
        }
    }

    /// <summary>Reads every private key of the file, in order. The caller owns the keys.</summary>
    public static List<ECDsa> Load(string path)
    {
        var text = File.ReadAllText(path);
        var keys = new List<ECDsa>();
        var rest = text.AsSpan();
        while (PemEncoding.TryFind(rest, out var fields))
        {
            var label = rest[fields.Label].ToString();
            var pem = rest[fields.Location].ToString();
            rest = rest[fields.Location.End.Value..];
            if (label is not ("PRIVATE KEY" or "EC PRIVATE KEY"))
            {
                throw new InvalidDataException($"holds a `{label}` block; give only EC P-256 private keys (`openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt`)");
            }

            var ecdsa = ECDsa.Create();
            try
            {
                ecdsa.ImportFromPem(pem);
            }
            catch (CryptographicException)
            {
                ecdsa.Dispose();
                throw new InvalidDataException("holds a private key that is not an EC key; Gatehouse signs with ES256 and needs EC P-256 keys");
            }

            if (ecdsa.ExportParameters(false).Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
            {
                ecdsa.Dispose();
                throw new InvalidDataException("holds an EC key on another curve; ES256 needs P-256 (prime256v1)");
            }

            keys.Add(ecdsa);
        }

        if (keys.Count == 0)
        {
            throw new InvalidDataException("holds no PEM private key (-----BEGIN PRIVATE KEY-----); make one with `openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt`");
        }

        return keys;
    }
}
