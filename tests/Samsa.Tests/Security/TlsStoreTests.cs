using System.Security.Cryptography;
using Samsa.Security;
using Samsa.Testing.Tls;

namespace Samsa.Tests.Security;

/// <summary>Loading trust and key stores (PEM, PKCS12, inline, encrypted keys) and what each mistake says.</summary>
public sealed class TlsStoreTests : IDisposable
{
    private readonly TlsCertificates _pki = TlsCertificates.Create();

    public void Dispose() => _pki.Dispose();

    private static TlsOptions Tls(params (string Key, string Value)[] settings) =>
        ProducerOptions.FromProperties(settings.Select(s => KeyValuePair.Create(s.Key, s.Value))).Tls;

    private ConfigException LoadFails(params (string Key, string Value)[] settings)
    {
        var options = ProducerOptions.FromProperties(
            new[] { ("bootstrap.servers", "localhost:9093"), ("security.protocol", "SSL") }.Concat(settings).Select(s => KeyValuePair.Create(s.Item1, s.Item2)));
        // As Build() does: validate, then load. Both throw ConfigException.
        var e = Assert.Throws<ConfigException>(() => TlsConnector.Create(options.Validate().Tls));
        AssertNoSecret(e.Message);
        return e;
    }

    private void AssertNoSecret(string text)
    {
        Assert.DoesNotContain(_pki.StorePassword, text, StringComparison.Ordinal);
        Assert.DoesNotContain(_pki.KeyPassword, text, StringComparison.Ordinal);
        Assert.DoesNotContain(_pki.ClientKeyPem.Split('\n')[1], text, StringComparison.Ordinal);
    }

    [Fact]
    public void PemTruststoreFile()
    {
        var trusted = TlsStores.LoadTrust(Tls(("ssl.truststore.type", "PEM"), ("ssl.truststore.location", _pki.CaPath)));
        Assert.Equal("CN=Samsa Test CA, O=Samsa tests", Assert.Single(trusted!).Subject);
    }

    [Fact]
    public void Pkcs12TruststoreAsPkcs12AndAsJavasDefaultJks()
    {
        foreach (var type in new[] { "PKCS12", "JKS" })
        {
            var trusted = TlsStores.LoadTrust(Tls(("ssl.truststore.type", type), ("ssl.truststore.location", _pki.TruststorePkcs12Path), ("ssl.truststore.password", _pki.StorePassword)));
            Assert.Equal("CN=Samsa Test CA, O=Samsa tests", Assert.Single(trusted!).Subject);
        }
    }

    [Fact]
    public void InlinePemAsAPropertiesFileContinuesIt()
    {
        // "key=-----BEGIN CERTIFICATE----- \<newline>  MII... \<newline> -----END CERTIFICATE-----" joins into one
        // line with spaces, which Java's PEM parser takes; so does Samsa's.
        var continued = string.Join(" \\\n    ", _pki.CaPem.Trim().Split('\n'));
        var properties = JavaProperties.Parse($"ssl.truststore.type=PEM\nssl.truststore.certificates={continued}\n");
        var tls = ProducerOptions.FromProperties(properties).Tls;
        Assert.DoesNotContain('\n', tls.TruststoreCertificates!);
        Assert.Single(TlsStores.LoadTrust(tls)!);
    }

    [Fact]
    public void JksTruststoreSaysHowToConvert()
    {
        var jks = Path.Combine(_pki.Directory, "truststore.jks");
        File.WriteAllBytes(jks, [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2, 0, 0, 0, 1]);
        var e = LoadFails(("ssl.truststore.location", jks), ("ssl.truststore.password", _pki.StorePassword));
        Assert.Equal("ssl.truststore.location", e.Key);
        Assert.Contains("Java KeyStore (JKS)", e.Message);
        Assert.Contains("keytool -importkeystore -srckeystore truststore.jks -destkeystore truststore.p12 -deststoretype PKCS12", e.Message);
        Assert.Contains("ssl.truststore.type=PKCS12", e.Message);
    }

    [Fact]
    public void JksKeystoreSaysHowToConvertAndFailsBuild()
    {
        var jks = Path.Combine(_pki.Directory, "client.jks");
        File.WriteAllBytes(jks, [0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2]);
        var settings = new Dictionary<string, string>
        {
            ["bootstrap.servers"] = "localhost:9093",
            ["security.protocol"] = "SSL",
            ["ssl.keystore.type"] = "JKS",
            ["ssl.keystore.location"] = jks,
            ["ssl.keystore.password"] = _pki.StorePassword,
        };
        var e = Assert.Throws<ConfigException>(() => new ProducerBuilder<string, string>(settings).Build());
        Assert.Equal("ssl.keystore.location", e.Key);
        Assert.Contains("-deststoretype PKCS12", e.Message);
        AssertNoSecret(e.Message);
    }

    [Fact]
    public void PemFileUnderJavasDefaultTypeAsksForPem()
    {
        var e = LoadFails(("ssl.truststore.location", _pki.CaPath));
        Assert.Equal("ssl.truststore.type", e.Key);
        Assert.Contains("Set ssl.truststore.type=PEM", e.Message);
    }

    [Fact]
    public void MissingFileNamesTheKey()
    {
        var e = LoadFails(("ssl.truststore.type", "PEM"), ("ssl.truststore.location", "/no/such/ca.pem"));
        Assert.Equal("ssl.truststore.location", e.Key);
        Assert.Contains("/no/such/ca.pem", e.Message);
    }

    [Fact]
    public void WrongPkcs12PasswordNamesThePasswordKey()
    {
        var e = LoadFails(("ssl.keystore.type", "PKCS12"), ("ssl.keystore.location", _pki.ClientKeystorePkcs12Path), ("ssl.keystore.password", "wrong"));
        Assert.Equal("ssl.keystore.password", e.Key);
    }

    [Fact]
    public void Pkcs12KeystoreGivesTheCertificateWithItsKeyAndChain()
    {
        var (certificate, chain) = TlsStores.LoadClientCertificate(Tls(
            ("ssl.keystore.type", "PKCS12"), ("ssl.keystore.location", _pki.ClientKeystorePkcs12Path), ("ssl.keystore.password", _pki.StorePassword)))!.Value;
        Assert.True(certificate.HasPrivateKey);
        Assert.Equal("CN=samsa-test-client, O=Samsa tests", certificate.Subject);
        Assert.Equal("CN=Samsa Test CA, O=Samsa tests", Assert.Single(chain).Subject);
    }

    [Fact]
    public void InlinePemKeystoreUnencryptedAndEncrypted()
    {
        var plain = TlsStores.LoadClientCertificate(Tls(
            ("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", _pki.ClientCertificatePem), ("ssl.keystore.key", _pki.ClientKeyPem)))!.Value;
        var encrypted = TlsStores.LoadClientCertificate(Tls(
            ("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", _pki.ClientCertificatePem),
            ("ssl.keystore.key", _pki.ClientEncryptedKeyPem), ("ssl.key.password", _pki.KeyPassword)))!.Value;
        foreach (var (certificate, chain) in new[] { plain, encrypted })
        {
            Assert.True(certificate.HasPrivateKey);
            Assert.Single(chain);
        }
    }

    [Fact]
    public void PemKeystoreFileHoldsKeyAndChain()
    {
        var (certificate, _) = TlsStores.LoadClientCertificate(Tls(
            ("ssl.keystore.type", "PEM"), ("ssl.keystore.location", _pki.ClientKeystorePemPath), ("ssl.key.password", _pki.KeyPassword)))!.Value;
        Assert.True(certificate.HasPrivateKey);
    }

    [Fact]
    public void Pkcs1RsaKeyIsAcceptedToo()
    {
        using var rsa = RSA.Create();
        rsa.ImportFromPem(_pki.ClientKeyPem);
        var (certificate, _) = TlsStores.LoadClientCertificate(Tls(
            ("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", _pki.ClientCertificatePem), ("ssl.keystore.key", rsa.ExportRSAPrivateKeyPem())))!.Value;
        Assert.True(certificate.HasPrivateKey);
    }

    [Fact]
    public void EncryptedKeyWithoutPasswordAsksForIt()
    {
        var e = LoadFails(("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", _pki.ClientCertificatePem), ("ssl.keystore.key", _pki.ClientEncryptedKeyPem));
        Assert.Equal("ssl.key.password", e.Key);
        Assert.Contains("is encrypted", e.Message);
    }

    [Fact]
    public void EncryptedKeyWithWrongPassword()
    {
        var e = LoadFails(("ssl.keystore.type", "PEM"), ("ssl.keystore.location", _pki.ClientKeystorePemPath), ("ssl.key.password", "not-" + _pki.KeyPassword));
        Assert.Equal("ssl.key.password", e.Key);
        Assert.Contains("could not be decrypted", e.Message);
    }

    [Fact]
    public void PasswordForAnUnencryptedKeyIsRefused()
    {
        var e = LoadFails(("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", _pki.ClientCertificatePem), ("ssl.keystore.key", _pki.ClientKeyPem), ("ssl.key.password", _pki.KeyPassword));
        Assert.Equal("ssl.key.password", e.Key);
        Assert.Contains("not encrypted", e.Message);
    }

    [Fact]
    public void KeyOfAnotherCertificateIsRefused()
    {
        using var other = TlsCertificates.Create();
        var e = LoadFails(("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", _pki.ClientCertificatePem), ("ssl.keystore.key", other.ClientKeyPem));
        Assert.Equal("ssl.keystore.key", e.Key);
        Assert.Contains("CN=samsa-test-client", e.Message);
    }

    [Fact]
    public void LegacyOpenSslEncryptedKeyAsksForPkcs8()
    {
        var legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        var e = LoadFails(("ssl.keystore.type", "PEM"), ("ssl.keystore.certificate.chain", _pki.ClientCertificatePem), ("ssl.keystore.key", legacy), ("ssl.key.password", "x"));
        Assert.Equal("ssl.keystore.key", e.Key);
        Assert.Contains("openssl pkcs8 -topk8", e.Message);
    }

    [Fact]
    public void InlineTruststoreWithoutCertificates()
    {
        var e = LoadFails(("ssl.truststore.type", "PEM"), ("ssl.truststore.certificates", "not pem at all"));
        Assert.Equal("ssl.truststore.certificates", e.Key);
        Assert.Contains("holds no certificate", e.Message);
    }

    [Fact]
    public void BrokenPemNamesTheKey()
    {
        var e = LoadFails(("ssl.truststore.type", "PEM"), ("ssl.truststore.certificates", "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----"));
        Assert.Equal("ssl.truststore.certificates", e.Key);
        Assert.Contains("not valid", e.Message);
    }
}
