using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Samsa.Testing.Tls;

/// <summary>
/// A throwaway PKI for tests, made with .NET's <see cref="CertificateRequest"/>: a CA, a server certificate it
/// signed (for the TLS front) and a client certificate it signed (for mTLS), written to a temporary folder as PEM
/// and PKCS12 files in every form the <c>ssl.*</c> keys take. Disposing deletes the folder.
/// </summary>
/// <remarks>
/// The CA and server keys are EC P-256; the client key is RSA 2048, so both kinds of key are exercised. Nothing
/// here is secret beyond the test: the passwords are random per instance.
/// </remarks>
public sealed class TlsCertificates : IDisposable
{
    private TlsCertificates(string directory, TlsCertificateOptions options)
    {
        Directory = directory;
        Options = options;
        StorePassword = "store-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        KeyPassword = "key-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
    }

    /// <summary>The folder holding every file below.</summary>
    public string Directory { get; }

    /// <summary>What the certificates were made with.</summary>
    public TlsCertificateOptions Options { get; }

    /// <summary>The password of the PKCS12 files (trust store and key store).</summary>
    public string StorePassword { get; }

    /// <summary>The password of the encrypted PKCS#8 client key (<see cref="ClientEncryptedKeyPath"/>).</summary>
    public string KeyPassword { get; }

    /// <summary>The CA certificate, PEM (<c>ssl.truststore.type=PEM</c> with <c>ssl.truststore.location</c>).</summary>
    public string CaPath => Path.Combine(Directory, "ca.pem");

    /// <summary>The CA certificate in a PKCS12 trust store protected by <see cref="StorePassword"/>.</summary>
    public string TruststorePkcs12Path => Path.Combine(Directory, "truststore.p12");

    /// <summary>The server certificate followed by the CA certificate, PEM (the front's <c>cert</c>).</summary>
    public string ServerCertificatePath => Path.Combine(Directory, "server.pem");

    /// <summary>The server's private key, PKCS#8 PEM (the front's <c>key</c>).</summary>
    public string ServerKeyPath => Path.Combine(Directory, "server.key");

    /// <summary>The client certificate followed by the CA certificate, PEM.</summary>
    public string ClientCertificatePath => Path.Combine(Directory, "client.pem");

    /// <summary>The client's private key, unencrypted PKCS#8 PEM.</summary>
    public string ClientKeyPath => Path.Combine(Directory, "client.key");

    /// <summary>The client's private key, PKCS#8 PEM encrypted with <see cref="KeyPassword"/> (AES-256-CBC, PBKDF2).</summary>
    public string ClientEncryptedKeyPath => Path.Combine(Directory, "client-encrypted.key");

    /// <summary>The encrypted client key and the client certificate chain in one PEM file (<c>ssl.keystore.type=PEM</c> with <c>ssl.keystore.location</c>).</summary>
    public string ClientKeystorePemPath => Path.Combine(Directory, "client-keystore.pem");

    /// <summary>The client certificate, its key and the CA in a PKCS12 key store protected by <see cref="StorePassword"/>.</summary>
    public string ClientKeystorePkcs12Path => Path.Combine(Directory, "client.p12");

    /// <summary>The CA certificate as PEM text.</summary>
    public string CaPem { get; private set; } = "";

    /// <summary>The client certificate and the CA as PEM text.</summary>
    public string ClientCertificatePem { get; private set; } = "";

    /// <summary>The client's unencrypted PKCS#8 key as PEM text.</summary>
    public string ClientKeyPem { get; private set; } = "";

    /// <summary>The client's encrypted PKCS#8 key as PEM text (password <see cref="KeyPassword"/>).</summary>
    public string ClientEncryptedKeyPem { get; private set; } = "";

    /// <summary>Makes the CA and certificates and writes the files to a new temporary folder.</summary>
    public static TlsCertificates Create(TlsCertificateOptions? options = null)
    {
        options ??= new TlsCertificateOptions();
        var directory = Path.Combine(Path.GetTempPath(), "samsa-tls-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(directory);
        var pki = new TlsCertificates(directory, options);
        try
        {
            pki.Write();
            return pki;
        }
        catch
        {
            pki.Dispose();
            throw;
        }
    }

    /// <summary>Deletes the folder.</summary>
    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A process still holding a file (the front being killed) must not fail the test's cleanup.
        }
    }

    private void Write()
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={Options.CaName}, O=Samsa tests", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, critical: false));
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-90), now.AddYears(1));

        // The server certificate: its names (SAN) and validity are what the host name and expiry tests vary.
        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest($"CN={(Options.ServerNames.Count > 0 ? Options.ServerNames[0] : "broker")}, O=Samsa tests", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        foreach (var name in Options.ServerNames)
        {
            if (IPAddress.TryParse(name, out var ip))
            {
                names.AddIpAddress(ip);
            }
            else
            {
                names.AddDnsName(name);
            }
        }

        serverRequest.CertificateExtensions.Add(names.Build());
        AddLeafExtensions(serverRequest, ca, "1.3.6.1.5.5.7.3.1"); // serverAuth
        var (serverFrom, serverUntil) = Options.ExpiredServerCertificate ? (now.AddDays(-30), now.AddDays(-1)) : (now.AddDays(-1), now.AddDays(30));
        using var server = serverRequest.Create(ca, serverFrom, serverUntil, NewSerial());

        using var clientKey = RSA.Create(2048);
        var clientRequest = new CertificateRequest("CN=samsa-test-client, O=Samsa tests", clientKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        AddLeafExtensions(clientRequest, ca, "1.3.6.1.5.5.7.3.2"); // clientAuth
        // An RSA certificate signed by the EC CA: the signature comes from the CA's key, not the request's.
        using var client = clientRequest.Create(ca.SubjectName, X509SignatureGenerator.CreateForECDsa(caKey), now.AddDays(-1), now.AddDays(30), NewSerial());

        CaPem = ca.ExportCertificatePem() + "\n";
        ClientCertificatePem = client.ExportCertificatePem() + "\n" + CaPem;
        ClientKeyPem = clientKey.ExportPkcs8PrivateKeyPem() + "\n";
        ClientEncryptedKeyPem = clientKey.ExportEncryptedPkcs8PrivateKeyPem(
            KeyPassword, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 10_000)) + "\n";

        File.WriteAllText(CaPath, CaPem);
        File.WriteAllText(ServerCertificatePath, server.ExportCertificatePem() + "\n" + CaPem);
        WritePrivate(ServerKeyPath, serverKey.ExportPkcs8PrivateKeyPem() + "\n");
        File.WriteAllText(ClientCertificatePath, ClientCertificatePem);
        WritePrivate(ClientKeyPath, ClientKeyPem);
        WritePrivate(ClientEncryptedKeyPath, ClientEncryptedKeyPem);
        WritePrivate(ClientKeystorePemPath, ClientEncryptedKeyPem + ClientCertificatePem);

        using var caOnly = LoadCertificate(ca.RawData);
        File.WriteAllBytes(TruststorePkcs12Path, new X509Certificate2Collection(caOnly).Export(X509ContentType.Pkcs12, StorePassword)!);
        using var clientWithKey = client.CopyWithPrivateKey(clientKey);
        File.WriteAllBytes(ClientKeystorePkcs12Path, new X509Certificate2Collection(new[] { clientWithKey, caOnly }).Export(X509ContentType.Pkcs12, StorePassword)!);
    }

    private static void AddLeafExtensions(CertificateRequest request, X509Certificate2 issuer, string extendedUsage)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(extendedUsage)], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, includeKeyIdentifier: true, includeIssuerAndSerial: false));
    }

    private static byte[] NewSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7F; // positive
        return serial;
    }

    private static X509Certificate2 LoadCertificate(byte[] der) => X509CertificateLoader.LoadCertificate(der);

    // Private keys readable by their owner only (stunnel warns about anything wider).
    private static void WritePrivate(string path, string text)
    {
        File.WriteAllText(path, text);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}

/// <summary>How <see cref="TlsCertificates.Create"/> makes the certificates.</summary>
public sealed record TlsCertificateOptions
{
    /// <summary>The names (DNS names or IP addresses) the server certificate is valid for (its SAN); default 127.0.0.1 and localhost.</summary>
    public IReadOnlyList<string> ServerNames { get; init; } = ["127.0.0.1", "localhost"];

    /// <summary>Makes a server certificate that expired yesterday.</summary>
    public bool ExpiredServerCertificate { get; init; }

    /// <summary>The CA's common name; distinct CAs make the untrusted-CA case.</summary>
    public string CaName { get; init; } = "Samsa Test CA";
}
