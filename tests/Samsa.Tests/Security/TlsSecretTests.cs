namespace Samsa.Tests.Security;

/// <summary>Passwords and private keys never show in ToString or in a configuration error.</summary>
public sealed class TlsSecretTests
{
    private const string TrustPassword = "trust-secret-4711";
    private const string StorePassword = "store-secret-4712";
    private const string KeyPassword = "key-secret-4713";
    private const string KeyBody = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC-secret-4714";

    private static readonly string Key = $"-----BEGIN PRIVATE KEY-----\n{KeyBody}\n-----END PRIVATE KEY-----\n";

    private static void AssertNoSecret(string text)
    {
        foreach (var secret in new[] { TrustPassword, StorePassword, KeyPassword, KeyBody, "secret-47" })
        {
            Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void OptionsToStringHidesEverySecret()
    {
        var options = ProducerOptions.Default with
        {
            BootstrapServers = ["broker:9093"],
            SecurityProtocol = SecurityProtocol.Ssl,
            Tls = new TlsOptions
            {
                TruststoreType = TlsStoreType.Pkcs12,
                TruststoreLocation = "/etc/kafka/truststore.p12",
                TruststorePassword = TrustPassword,
                KeystoreType = TlsStoreType.Pem,
                KeystoreCertificateChain = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
                KeystoreKey = Key,
                KeyPassword = KeyPassword,
            },
        };

        var text = options.ToString();
        AssertNoSecret(text);
        Assert.Contains("TruststorePassword = [hidden]", text, StringComparison.Ordinal);
        Assert.Contains("KeyPassword = [hidden]", text, StringComparison.Ordinal);
        Assert.Contains("KeystoreKey = [hidden]", text, StringComparison.Ordinal);
        Assert.Contains("TruststoreLocation = /etc/kafka/truststore.p12", text, StringComparison.Ordinal);
        AssertNoSecret((options.Tls with { KeystorePassword = StorePassword, KeystoreKey = null }).ToString());
    }

    [Fact]
    public void EverySecretPropertyIsHiddenByToString()
    {
        // A new secret property must be added to PrintMembers' hidden list: this finds it if it is not.
        var options = new TlsOptions();
        foreach (var property in typeof(TlsOptions).GetProperties().Where(p => p.PropertyType == typeof(string) && p.CanWrite))
        {
            if (property.Name.Contains("Password", StringComparison.Ordinal) || property.Name == nameof(TlsOptions.KeystoreKey))
            {
                var withSecret = options with { };
                property.SetValue(withSecret, "secret-4799");
                AssertNoSecret(withSecret.ToString());
                Assert.Contains($"{property.Name} = [hidden]", withSecret.ToString(), StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [InlineData("ssl.keystore.pasword")]
    [InlineData("ssl.truststore.passwd")]
    [InlineData("ssl.keystore.keys")]
    [InlineData("sasl.jaas.confg")]
    [InlineData("sasl.oauthbearer.client.credentials.client.secrt")]
    public void AMisspeltSecretKeyDoesNotCarryItsValue(string key)
    {
        var e = Assert.Throws<ConfigException>(() => ProducerOptions.FromProperties([KeyValuePair.Create(key, StorePassword)]));
        Assert.Equal("[hidden]", e.Value);
        AssertNoSecret(e.Message);
    }

    [Fact]
    public void ConfigErrorsAboutSecretKeysDoNotEchoThem()
    {
        var settings = new Dictionary<string, string>
        {
            ["bootstrap.servers"] = "broker:9093",
            ["security.protocol"] = "SSL",
            ["ssl.keystore.type"] = "PKCS12",
            ["ssl.keystore.location"] = "/no/such/client.p12",
            ["ssl.keystore.password"] = StorePassword,
            ["ssl.key.password"] = KeyPassword,
        };
        var e = Assert.Throws<ConfigException>(() => new ProducerBuilder<string, string>(settings).Build());
        Assert.Equal("ssl.key.password", e.Key);
        AssertNoSecret(e.Message);
        AssertNoSecret(e.Value ?? "");

        settings.Remove("ssl.key.password");
        e = Assert.Throws<ConfigException>(() => new ProducerBuilder<string, string>(settings).Build());
        Assert.Equal("ssl.keystore.location", e.Key);
        AssertNoSecret(e.ToString());
    }
}
