using System.Net.Security;
using System.Security.Authentication;
using Samsa.Security;

namespace Samsa.Tests.Security;

/// <summary>The ssl.* keys: parsing, Java's defaults and combination rules, keys Samsa cannot honour, and secrets.</summary>
public sealed class TlsConfigTests
{
    private static ProducerOptions Parse(params (string Key, string Value)[] settings) =>
        ProducerOptions.FromProperties(settings.Select(s => KeyValuePair.Create(s.Key, s.Value)));

    private static ProducerOptions ParseValid(params (string Key, string Value)[] settings) =>
        Parse([("bootstrap.servers", "localhost:9093"), ("security.protocol", "SSL"), .. settings]).Validate();

    private static ConfigException ParseFails(params (string Key, string Value)[] settings) =>
        Assert.Throws<ConfigException>(() => Parse(settings));

    private static ConfigException ValidateFails(params (string Key, string Value)[] settings) =>
        Assert.Throws<ConfigException>(() => Parse([("bootstrap.servers", "localhost:9093"), ("security.protocol", "SSL"), .. settings]).Validate());

    [Fact]
    public void DefaultsAreJavas()
    {
        var d = TlsOptions.Default;
        Assert.Equal(TlsStoreType.Jks, d.TruststoreType);
        Assert.Equal(TlsStoreType.Jks, d.KeystoreType);
        Assert.Null(d.TruststoreLocation);
        Assert.Null(d.KeystoreLocation);
        Assert.Equal("https", d.EndpointIdentificationAlgorithm);
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, d.EnabledProtocols);
        Assert.Equal(SslProtocols.Tls13, d.Protocol);
        Assert.Null(d.CipherSuites);
        Assert.Same(TlsOptions.Default, ProducerOptions.Default.Tls);
    }

    [Fact]
    public void SslWithDefaultsUsesTheSystemTrustStore()
    {
        var o = ParseValid();
        Assert.Equal(SecurityProtocol.Ssl, o.SecurityProtocol);
        Assert.Null(TlsStores.LoadTrust(o.Tls));
        Assert.Null(TlsStores.LoadClientCertificate(o.Tls));
    }

    [Fact]
    public void EveryKeyParses()
    {
        var o = Parse(
            ("ssl.truststore.type", " pkcs12 "),
            ("ssl.truststore.location", " /etc/kafka/truststore.p12 "),
            ("ssl.truststore.password", " trust pass "),
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.certificate.chain", "chain"),
            ("ssl.keystore.key", "key"),
            ("ssl.key.password", "kp"),
            ("ssl.endpoint.identification.algorithm", "HTTPS"),
            ("ssl.enabled.protocols", "TLSv1.3, TLSv1.2"),
            ("ssl.protocol", "TLSv1.2"),
            ("ssl.cipher.suites", "TLS_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"),
            ("ssl.keymanager.algorithm", "SunX509"),
            ("ssl.trustmanager.algorithm", "PKIX"),
            ("ssl.secure.random.implementation", ""),
            ("ssl.engine.factory.class", "org.apache.kafka.common.security.ssl.DefaultSslEngineFactory"),
            ("ssl.provider", ""),
            ("security.providers", "")).Tls;

        Assert.Equal(TlsStoreType.Pkcs12, o.TruststoreType);
        Assert.Equal("/etc/kafka/truststore.p12", o.TruststoreLocation);
        Assert.Equal(" trust pass ", o.TruststorePassword); // a password is taken as given, as Java's PASSWORD type
        Assert.Equal(TlsStoreType.Pem, o.KeystoreType);
        Assert.Equal("chain", o.KeystoreCertificateChain);
        Assert.Equal("key", o.KeystoreKey);
        Assert.Equal("kp", o.KeyPassword);
        Assert.Equal("HTTPS", o.EndpointIdentificationAlgorithm);
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, o.EnabledProtocols);
        Assert.Equal(SslProtocols.Tls12, o.Protocol);
        Assert.Equal(SslProtocols.Tls12, o.EffectiveProtocols);
        Assert.Equal([TlsCipherSuite.TLS_AES_128_GCM_SHA256, TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384], o.CipherSuites);
    }

    [Theory]
    [InlineData("TLS", SslProtocols.Tls13)]
    [InlineData("TLSv1.3", SslProtocols.Tls13)]
    [InlineData("tlsv1.2", SslProtocols.Tls12)]
    public void SslProtocol(string value, SslProtocols expected) =>
        Assert.Equal(expected, ParseValid(("ssl.protocol", value)).Tls.Protocol);

    [Theory]
    [InlineData("ssl.enabled.protocols", "TLSv1.2,TLSv1.1")]
    [InlineData("ssl.enabled.protocols", "TLSv1")]
    [InlineData("ssl.protocol", "SSLv3")]
    [InlineData("ssl.protocol", "TLSv1.1")]
    public void ObsoleteProtocolsAreRefused(string key, string value)
    {
        var e = ParseFails((key, value));
        Assert.Equal(key, e.Key);
        Assert.Contains("obsolete", e.Message);
    }

    [Fact]
    public void EnabledProtocolsEmptyMeansTheDefault() =>
        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, ParseValid(("ssl.enabled.protocols", " ")).Tls.EnabledProtocols);

    [Fact]
    public void SslProtocolTls12WithOnlyTls13EnabledLeavesNothing()
    {
        var e = ValidateFails(("ssl.enabled.protocols", "TLSv1.3"), ("ssl.protocol", "TLSv1.2"));
        Assert.Equal("ssl.enabled.protocols", e.Key);
        Assert.Contains("no TLS version is left", e.Message);
    }

    [Theory]
    [InlineData("TLS_NOT_A_SUITE")]
    [InlineData("42")]
    public void UnknownCipherSuiteIsRefused(string value)
    {
        var e = ParseFails(("ssl.cipher.suites", value));
        Assert.Equal("ssl.cipher.suites", e.Key);
        Assert.Contains("Unknown cipher suite", e.Message);
    }

    [Fact]
    public void JavaSslAliasOfACipherSuiteIsAccepted() =>
        Assert.Equal([TlsCipherSuite.TLS_RSA_WITH_AES_128_CBC_SHA], Parse(("ssl.cipher.suites", "SSL_RSA_WITH_AES_128_CBC_SHA")).Tls.CipherSuites);

    [Theory]
    [InlineData("ldaps")]
    [InlineData("http")]
    public void EndpointIdentificationIsHttpsOrEmpty(string value)
    {
        var e = ValidateFails(("ssl.endpoint.identification.algorithm", value));
        Assert.Equal("ssl.endpoint.identification.algorithm", e.Key);
        Assert.False(ParseValid(("ssl.endpoint.identification.algorithm", "")).Tls.VerifiesHostName);
        Assert.True(ParseValid(("ssl.endpoint.identification.algorithm", "https")).Tls.VerifiesHostName);
    }

    [Theory]
    [InlineData("BCFKS")]
    [InlineData("PKCS11")]
    public void UnknownStoreTypeIsRefused(string value)
    {
        var e = ParseFails(("ssl.truststore.type", value));
        Assert.Equal("ssl.truststore.type", e.Key);
        Assert.Contains("PKCS12, PEM", e.Message);
    }

    [Fact]
    public void JceksTypeSaysHowToConvert()
    {
        var e = ParseFails(("ssl.keystore.type", "JCEKS"));
        Assert.Contains("-deststoretype PKCS12", e.Message);
    }

    [Theory]
    [InlineData("ssl.keymanager.algorithm", "SunX509", "NewSunX509")]
    [InlineData("ssl.trustmanager.algorithm", "PKIX", "SunX509")]
    [InlineData("ssl.secure.random.implementation", "", "SHA1PRNG")]
    [InlineData("ssl.engine.factory.class", "", "com.example.MyEngineFactory")]
    [InlineData("ssl.provider", "", "SunJSSE")]
    [InlineData("security.providers", "", "com.example.MyProviderCreator")]
    public void JavaOnlyKeysTakeJavasDefaultAndRefuseOthersWithAReason(string key, string javaDefault, string other)
    {
        Assert.Equal(TlsOptions.Default, ParseValid((key, javaDefault)).Tls);
        var e = ParseFails((key, other));
        Assert.Equal(key, e.Key);
        Assert.StartsWith($"Producer config key '{key}' is not supported with value '{other}':", e.Message);
    }

    [Fact]
    public void UnknownSslKeyGetsASuggestion()
    {
        var e = ParseFails(("ssl.truststore.locaton", "/x"));
        Assert.Equal("ssl.truststore.location", e.Suggestion);
    }

    [Theory]
    [InlineData("ssl.truststore.location", "/etc/ca.pem")]
    [InlineData("ssl.endpoint.identification.algorithm", "")]
    [InlineData("ssl.enabled.protocols", "TLSv1.3")]
    public void TlsSettingsWithoutTlsAreAnError(string key, string value)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(("bootstrap.servers", "localhost:9092"), (key, value)).Validate());
        Assert.Equal(key, e.Key);
        Assert.Contains("security.protocol=SSL", e.Message);
    }

    [Fact]
    public void JavasDefaultTlsValuesWithPlaintextAreFine() =>
        Parse(("bootstrap.servers", "localhost:9092"), ("ssl.endpoint.identification.algorithm", "https"), ("ssl.protocol", "TLSv1.3"), ("ssl.truststore.type", "JKS")).Validate();

    [Theory]
    // Java's DefaultSslEngineFactory rules, one by one.
    [InlineData("ssl.truststore.type", "ssl.truststore.certificates=x")]
    [InlineData("ssl.truststore.location", "ssl.truststore.type=PEM", "ssl.truststore.certificates=x", "ssl.truststore.location=/ca.pem")]
    [InlineData("ssl.truststore.password", "ssl.truststore.type=PEM", "ssl.truststore.certificates=x", "ssl.truststore.password=p")]
    [InlineData("ssl.truststore.password", "ssl.truststore.type=PEM", "ssl.truststore.location=/ca.pem", "ssl.truststore.password=p")]
    [InlineData("ssl.truststore.password", "ssl.truststore.password=p")]
    [InlineData("ssl.keystore.type", "ssl.keystore.key=k", "ssl.keystore.certificate.chain=c")]
    [InlineData("ssl.keystore.certificate.chain", "ssl.keystore.type=PEM", "ssl.keystore.key=k")]
    [InlineData("ssl.keystore.location", "ssl.keystore.type=PEM", "ssl.keystore.key=k", "ssl.keystore.certificate.chain=c", "ssl.keystore.location=/k.pem")]
    [InlineData("ssl.keystore.password", "ssl.keystore.type=PEM", "ssl.keystore.key=k", "ssl.keystore.certificate.chain=c", "ssl.keystore.password=p")]
    [InlineData("ssl.keystore.key", "ssl.keystore.type=PEM", "ssl.keystore.certificate.chain=c")]
    [InlineData("ssl.keystore.password", "ssl.keystore.type=PEM", "ssl.keystore.location=/k.pem", "ssl.keystore.password=p")]
    [InlineData("ssl.keystore.password", "ssl.keystore.location=/k.p12")]
    [InlineData("ssl.keystore.password", "ssl.keystore.password=p")]
    [InlineData("ssl.key.password", "ssl.key.password=p")]
    [InlineData("ssl.key.password", "ssl.keystore.type=PKCS12", "ssl.keystore.location=/k.p12", "ssl.keystore.password=a", "ssl.key.password=b")]
    [InlineData("ssl.truststore.location", "ssl.truststore.location=")]
    public void StoreCombinationsFollowJavasRules(string blamed, params string[] settings)
    {
        var e = ValidateFails([.. settings.Select(s => (s[..s.IndexOf('=', StringComparison.Ordinal)], s[(s.IndexOf('=', StringComparison.Ordinal) + 1)..]))]);
        Assert.Equal(blamed, e.Key);
        Assert.Contains($"'{blamed}'", e.Message);
    }

    [Fact]
    public void ReadmeConfigTableListsEveryTlsKey()
    {
        var text = File.ReadAllText(Path.Combine(Samsa.Tests.Config.RepoRoot.Require(), "README.md"));
        foreach (var key in TlsConfigKeys.All)
        {
            Assert.True(text.Contains($"| `{key}` |", StringComparison.Ordinal), $"README.md's config table does not list `{key}`.");
        }
    }

    [Fact]
    public void TypedOptionsAreValidatedToo()
    {
        var options = ProducerOptions.Default with
        {
            BootstrapServers = ["localhost:9093"],
            SecurityProtocol = SecurityProtocol.Ssl,
            Tls = TlsOptions.Default with { EnabledProtocols = SslProtocols.None },
        };
        Assert.Equal("ssl.enabled.protocols", Assert.Throws<ConfigException>(() => options.Validate()).Key);
        Assert.Equal("ssl.truststore.type", Assert.Throws<ConfigException>(() => (options with { Tls = TlsOptions.Default with { TruststoreType = (TlsStoreType)9 } }).Validate()).Key);
    }
}
