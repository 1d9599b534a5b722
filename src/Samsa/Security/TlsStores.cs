using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Samsa.Security;

/// <summary>
/// Loads the trust store and the key store of <see cref="TlsOptions"/> (PKCS12 or PEM, from files or inline),
/// as Java's <c>DefaultSslEngineFactory</c> does. Every failure is a <see cref="ConfigException"/> naming the key
/// to fix; no message carries a password or key material.
/// </summary>
internal static class TlsStores
{
    private const string RsaOid = "1.2.840.113549.1.1.1";
    private const string EcOid = "1.2.840.10045.2.1";
    private const string DsaOid = "1.2.840.10040.4.1";

    /// <summary>The CA certificates to trust, or null for the system's trusted CAs.</summary>
    public static X509Certificate2Collection? LoadTrust(TlsOptions o)
    {
        X509Certificate2Collection certificates;
        string key;
        if (o.TruststoreCertificates is { } inline)
        {
            key = TlsConfigKeys.TruststoreCertificates;
            certificates = Certificates(ReadPem(inline, key, "the value"), key, "the value");
        }
        else if (o.TruststoreLocation is { } path)
        {
            key = TlsConfigKeys.TruststoreLocation;
            var bytes = ReadFile(key, path);
            certificates = o.TruststoreType == TlsStoreType.Pem
                ? Certificates(ReadPem(Encoding.UTF8.GetString(bytes), key, $"'{path}'"), key, $"'{path}'")
                : LoadPkcs12(bytes, o.TruststorePassword, o.TruststoreType, path, key, TlsConfigKeys.TruststoreType, TlsConfigKeys.TruststorePassword);
        }
        else
        {
            return null;
        }

        if (certificates.Count == 0)
        {
            throw new ConfigException(key, $"The trust store given by '{key}' holds no certificate; it should hold the CA certificate(s) that signed the brokers' certificates.");
        }

        return certificates;
    }

    /// <summary>The client certificate with its private key and the rest of its chain, or null when none is configured.</summary>
    public static (X509Certificate2 Certificate, X509Certificate2Collection Chain)? LoadClientCertificate(TlsOptions o)
    {
        if (o.KeystoreKey is { } inlineKey)
        {
            return FromPem(
                ReadPem(o.KeystoreCertificateChain!, TlsConfigKeys.KeystoreCertificateChain, "the value"), TlsConfigKeys.KeystoreCertificateChain, "the value",
                ReadPem(inlineKey, TlsConfigKeys.KeystoreKey, "the value"), TlsConfigKeys.KeystoreKey, "the value",
                o.KeyPassword);
        }

        if (o.KeystoreLocation is not { } path)
        {
            return null;
        }

        const string Key = TlsConfigKeys.KeystoreLocation;
        var bytes = ReadFile(Key, path);
        if (o.KeystoreType == TlsStoreType.Pem)
        {
            var blocks = ReadPem(Encoding.UTF8.GetString(bytes), Key, $"'{path}'");
            return FromPem(blocks, Key, $"'{path}'", blocks, Key, $"'{path}'", o.KeyPassword);
        }

        var all = LoadPkcs12(bytes, o.KeystorePassword, o.KeystoreType, path, Key, TlsConfigKeys.KeystoreType, TlsConfigKeys.KeystorePassword);
        X509Certificate2? leaf = null;
        var chain = new X509Certificate2Collection();
        foreach (var certificate in all)
        {
            if (leaf is null && certificate.HasPrivateKey)
            {
                leaf = certificate;
            }
            else
            {
                chain.Add(certificate);
            }
        }

        if (leaf is null)
        {
            throw new ConfigException(Key, $"The key store '{path}' ('{Key}') holds no private key, so it has no client certificate to offer. Export the client certificate together with its key (PKCS12), or use PEM with '{TlsConfigKeys.KeystoreKey}'.");
        }

        return (leaf, chain);
    }

    private static (X509Certificate2, X509Certificate2Collection) FromPem(
        List<Pem.Block> certificateBlocks, string certificateKey, string certificateSource,
        List<Pem.Block> keyBlocks, string privateKeyKey, string keySource,
        string? keyPassword)
    {
        var certificates = Certificates(certificateBlocks, certificateKey, certificateSource);
        if (certificates.Count == 0)
        {
            throw new ConfigException(certificateKey, $"'{certificateKey}': {certificateSource} holds no PEM CERTIFICATE; give the client certificate (then its chain) in PEM.");
        }

        var keys = keyBlocks.Where(b => b.Label.EndsWith("PRIVATE KEY", StringComparison.Ordinal)).ToList();
        if (keys.Count != 1)
        {
            throw new ConfigException(privateKeyKey, keys.Count == 0
                ? $"'{privateKeyKey}': {keySource} holds no PEM PRIVATE KEY; give the client's private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY----- or -----BEGIN ENCRYPTED PRIVATE KEY-----)."
                : $"'{privateKeyKey}': {keySource} holds {keys.Count} private keys; give exactly one, the client certificate's.");
        }

        var keyBlock = keys[0];
        if (keyBlock.HasHeaders)
        {
            throw new ConfigException(privateKeyKey, $"The client's private key ('{privateKeyKey}') is encrypted the old OpenSSL way (Proc-Type/DEK-Info headers), which Java does not read either. Convert it to encrypted PKCS#8: openssl pkcs8 -topk8 -v2 aes-256-cbc -in old.key -out client.key, and set {TlsConfigKeys.KeyPassword}.");
        }

        var encrypted = keyBlock.Label == "ENCRYPTED PRIVATE KEY";
        if (encrypted && keyPassword is null)
        {
            throw new ConfigException(TlsConfigKeys.KeyPassword, $"The client's private key ('{privateKeyKey}') is encrypted, but '{TlsConfigKeys.KeyPassword}' is not set. Set {TlsConfigKeys.KeyPassword} to the key's password.");
        }

        if (!encrypted && keyPassword is not null)
        {
            throw new ConfigException(TlsConfigKeys.KeyPassword, $"'{TlsConfigKeys.KeyPassword}' is set, but the client's private key ('{privateKeyKey}') is not encrypted. Remove {TlsConfigKeys.KeyPassword}, or give the key as an ENCRYPTED PRIVATE KEY.");
        }

        var leaf = certificates[0];
        certificates.RemoveAt(0);
        X509Certificate2 withKey;
        try
        {
            withKey = leaf.GetKeyAlgorithm() switch
            {
                RsaOid => WithKey(leaf, RSA.Create(), keyBlock, keyPassword, static (c, k) => c.CopyWithPrivateKey(k)),
                EcOid => WithKey(leaf, ECDsa.Create(), keyBlock, keyPassword, static (c, k) => c.CopyWithPrivateKey(k)),
                DsaOid => WithKey(leaf, DSA.Create(), keyBlock, keyPassword, static (c, k) => c.CopyWithPrivateKey(k)),
                var other => throw new ConfigException(certificateKey, $"The client certificate ({leaf.Subject}) has a key of type {other}; Samsa supports RSA, EC and DSA client keys."),
            };
        }
        catch (CryptographicException e) when (encrypted)
        {
            throw new ConfigException(TlsConfigKeys.KeyPassword, $"The client's private key ('{privateKeyKey}') could not be decrypted with '{TlsConfigKeys.KeyPassword}' ({e.Message}). Check the password.");
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new ConfigException(privateKeyKey, $"The client's private key ('{privateKeyKey}') could not be used with the certificate {leaf.Subject}: {e.Message} Check that it is the certificate's key, in PKCS#8 PEM.");
        }

        // Windows' TLS (SChannel) cannot use an ephemeral key such as one imported from PEM; a PKCS12 round trip
        // gives it a usable one.
        if (OperatingSystem.IsWindows())
        {
            var exported = withKey.Export(X509ContentType.Pkcs12);
            withKey.Dispose();
            withKey = LoadPkcs12Collection(exported, null).Cast<X509Certificate2>().First(c => c.HasPrivateKey);
        }

        return (withKey, certificates);
    }

    private static X509Certificate2 WithKey<TKey>(X509Certificate2 leaf, TKey key, Pem.Block block, string? password, Func<X509Certificate2, TKey, X509Certificate2> combine)
        where TKey : AsymmetricAlgorithm
    {
        using (key)
        {
            switch (block.Label)
            {
                case "ENCRYPTED PRIVATE KEY":
                    key.ImportEncryptedPkcs8PrivateKey(password.AsSpan(), block.Data, out _);
                    break;
                case "PRIVATE KEY":
                    key.ImportPkcs8PrivateKey(block.Data, out _);
                    break;
                case "RSA PRIVATE KEY" when key is RSA rsa:
                    rsa.ImportRSAPrivateKey(block.Data, out _);
                    break;
                case "EC PRIVATE KEY" when key is ECDsa ec:
                    ec.ImportECPrivateKey(block.Data, out _);
                    break;
                default:
                    throw new CryptographicException($"A '{block.Label}' PEM block does not hold a {key.GetType().Name} private key.");
            }

            return combine(leaf, key);
        }
    }

    private static X509Certificate2Collection Certificates(List<Pem.Block> blocks, string key, string source)
    {
        var certificates = new X509Certificate2Collection();
        foreach (var block in blocks)
        {
            if (block.Label != "CERTIFICATE")
            {
                continue;
            }

            try
            {
#if NET9_0_OR_GREATER
                certificates.Add(X509CertificateLoader.LoadCertificate(block.Data));
#else
                certificates.Add(new X509Certificate2(block.Data));
#endif
            }
            catch (CryptographicException e)
            {
                throw new ConfigException(key, $"'{key}': a CERTIFICATE in {source} is not a valid X.509 certificate: {e.Message}");
            }
        }

        return certificates;
    }

    private static X509Certificate2Collection LoadPkcs12(byte[] bytes, string? password, TlsStoreType type, string path, string locationKey, string typeKey, string passwordKey)
    {
        // 0xFEEDFEED starts a Java KeyStore, 0xCECECECE a JCEKS one: formats only Java reads.
        if (bytes.Length >= 4 && ((bytes[0] == 0xFE && bytes[1] == 0xED && bytes[2] == 0xFE && bytes[3] == 0xED) || (bytes[0] == 0xCE && bytes[1] == 0xCE && bytes[2] == 0xCE && bytes[3] == 0xCE)))
        {
            var javaType = bytes[0] == 0xFE ? "JKS" : "JCEKS";
            throw new ConfigException(
                locationKey,
                $"'{path}' ('{locationKey}') is a Java KeyStore ({javaType}), which only Java reads. Convert it to PKCS12 with keytool -importkeystore -srckeystore {Path.GetFileName(path)} -destkeystore {Path.GetFileNameWithoutExtension(path)}.p12 -deststoretype PKCS12 (it asks for the passwords), then point {locationKey} at the .p12 file and set {typeKey}=PKCS12.",
                path,
                "a PKCS12 or PEM file");
        }

        if (Encoding.ASCII.GetString(bytes, 0, Math.Min(bytes.Length, 64)).Contains("-----BEGIN", StringComparison.Ordinal))
        {
            throw new ConfigException(
                typeKey,
                $"'{path}' ('{locationKey}') is PEM text, but '{typeKey}' is {TlsConfigParser.StoreTypeName(type)}. Set {typeKey}=PEM.",
                TlsConfigParser.StoreTypeName(type),
                TlsConfigParser.StoreTypes);
        }

        try
        {
            return LoadPkcs12Collection(bytes, password);
        }
        catch (CryptographicException e)
        {
            // A wrong or missing password is by far the likeliest cause; .NET says so in its message.
            var blamePassword = e.Message.Contains("password", StringComparison.OrdinalIgnoreCase);
            throw new ConfigException(
                blamePassword ? passwordKey : locationKey,
                blamePassword
                    ? $"'{path}' ('{locationKey}') could not be opened with '{passwordKey}'{(password is null ? ", which is not set" : "")}: {e.Message} Check {passwordKey}."
                    : $"'{path}' ('{locationKey}') could not be read as a PKCS12 store: {e.Message} Check that it is a PKCS12 file (or set {typeKey}=PEM for PEM).",
                blamePassword ? null : path);
        }
    }

    private static X509Certificate2Collection LoadPkcs12Collection(byte[] bytes, string? password)
    {
        // An ephemeral key never touches the disk; only Linux can use one for TLS client authentication.
        var flags = OperatingSystem.IsLinux() ? X509KeyStorageFlags.EphemeralKeySet : X509KeyStorageFlags.DefaultKeySet;
#if NET9_0_OR_GREATER
        return X509CertificateLoader.LoadPkcs12Collection(bytes, password, flags);
#else
        var collection = new X509Certificate2Collection();
        collection.Import(bytes, password, flags);
        return collection;
#endif
    }

    private static List<Pem.Block> ReadPem(string text, string key, string source)
    {
        try
        {
            return Pem.Read(text);
        }
        catch (FormatException e)
        {
            throw new ConfigException(key, $"'{key}': {source} is not valid PEM: {e.Message}");
        }
    }

    private static byte[] ReadFile(string key, string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ConfigException(key, $"'{key}' is '{path}', which could not be read: {e.Message}", path);
        }
    }

    /// <summary>
    /// A lenient PEM reader, as Java's (KIP-651): blocks may sit among other text, and the Base64 body may be
    /// broken by any whitespace, including the spaces left where a .properties value was continued over lines.
    /// </summary>
    internal static class Pem
    {
        private const string Dashes = "-----";

        public static List<Block> Read(string text)
        {
            var blocks = new List<Block>();
            var at = 0;
            while (true)
            {
                var begin = text.IndexOf(Dashes + "BEGIN ", at, StringComparison.Ordinal);
                if (begin < 0)
                {
                    return blocks;
                }

                var labelStart = begin + Dashes.Length + "BEGIN ".Length;
                var labelEnd = text.IndexOf(Dashes, labelStart, StringComparison.Ordinal);
                if (labelEnd < 0)
                {
                    return blocks;
                }

                var label = text[labelStart..labelEnd].Trim();
                var bodyStart = labelEnd + Dashes.Length;
                var end = text.IndexOf(Dashes + "END " + label + Dashes, bodyStart, StringComparison.Ordinal);
                if (end < 0)
                {
                    throw new FormatException($"A PEM '{label}' block has no matching END line.");
                }

                var body = text.AsSpan(bodyStart, end - bodyStart);
                blocks.Add(new Block(label, Decode(body, label, out var hasHeaders), hasHeaders));
                at = end + Dashes.Length;
            }
        }

        private static byte[] Decode(ReadOnlySpan<char> body, string label, out bool hasHeaders)
        {
            hasHeaders = false;
            var base64 = new StringBuilder(body.Length);
            foreach (var line in body.ToString().Split('\n'))
            {
                // RFC 1421 headers (e.g. "Proc-Type: 4,ENCRYPTED") carry no Base64.
                if (line.Contains(':', StringComparison.Ordinal))
                {
                    hasHeaders = true;
                    continue;
                }

                foreach (var c in line)
                {
                    if (!char.IsWhiteSpace(c))
                    {
                        base64.Append(c);
                    }
                }
            }

            try
            {
                return Convert.FromBase64String(base64.ToString());
            }
            catch (FormatException)
            {
                throw new FormatException($"A PEM '{label}' block is not valid Base64.");
            }
        }

        public readonly record struct Block(string Label, byte[] Data, bool HasHeaders = false);
    }
}
