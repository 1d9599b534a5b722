using System.Net.Security;
using Samsa.Security.Sasl;

namespace Samsa.Tests.Security;

/// <summary>
/// GSSAPI without a KDC: the RFC 4752 §3.1 security layer messages, the target name, and the checks of the Kerberos
/// settings at Build(). The exchange itself runs against MIT Kerberos in the integration tests.
/// </summary>
public sealed class GssapiMechanismTests
{
    private const string Krb5 = "com.sun.security.auth.module.Krb5LoginModule";

    private static ProducerOptions Valid(params (string Key, string Value)[] settings) =>
        ProducerOptions.FromProperties([new("bootstrap.servers", "b:9092"), new("security.protocol", "SASL_SSL"), .. settings.Select(s => new KeyValuePair<string, string>(s.Key, s.Value))]).Validate();

    private static ConfigException Invalid(params (string Key, string Value)[] settings) => Assert.Throws<ConfigException>(() => Valid(settings));

    private static SaslSettings Resolve(ProducerOptions o) => SaslSettings.Resolve(o.SecurityProtocol, o.Sasl)!;

    [Fact]
    public void TheAnswerChoosesNoSecurityLayerWithMaximumSizeZeroThenTheAuthorizationId()
    {
        // RFC 4752 §3.1: octet 1 the chosen layer (1: none), octets 2-4 the maximum size (0 when no layer), then the authzid.
        Assert.Equal(new byte[] { 1, 0, 0, 0 }, GssapiMechanism.Answer(null));
        Assert.Equal(new byte[] { 1, 0, 0, 0, (byte)'a', (byte)'@', (byte)'R', 0xC3, 0xA9 }, GssapiMechanism.Answer("a@Ré"));
    }

    [Theory]
    [InlineData(new byte[] { 1, 0x01, 0x00, 0x00 }, 1, 65536)]
    [InlineData(new byte[] { 7, 0xFF, 0xFF, 0xFF }, 7, 16_777_215)] // a Java broker with qop auth-conf,auth-int,auth
    [InlineData(new byte[] { 1, 0, 0, 0 }, 1, 0)]
    public void TheOfferIsReadInNetworkByteOrder(byte[] offer, byte layers, int maxSize) =>
        Assert.Equal((layers, maxSize), GssapiMechanism.ReadOffer(offer));

    [Theory]
    [InlineData(new byte[] { 2, 0, 0x10, 0 })] // integrity only
    [InlineData(new byte[] { 4, 0, 0x10, 0 })] // confidentiality only
    [InlineData(new byte[] { 1, 0, 0 })]
    [InlineData(new byte[] { 1, 0, 0, 0, 0 })]
    public void AnOfferWithoutNoSecurityLayerOrOfTheWrongSizeIsRefused(byte[] offer)
    {
        var e = Assert.Throws<KafkaAuthenticationException>(() => GssapiMechanism.ReadOffer(offer));
        Assert.False(e.IsRetriable);
    }

    [Fact]
    public void TheTargetIsServiceSlashHost() => Assert.Equal("kafka/broker1.example.com", GssapiMechanism.TargetName("kafka", "broker1.example.com"));

    [Fact]
    public void TargetUnknownNamesTheServiceNameKey() =>
        Assert.Contains("sasl.kerberos.service.name", GssapiMechanism.Explain(NegotiateAuthenticationStatusCode.TargetUnknown, "kafka/b"), StringComparison.Ordinal);

    [Fact]
    public void GenericFailuresSayWhatToCheck()
    {
        var why = GssapiMechanism.Explain(NegotiateAuthenticationStatusCode.GenericFailure, "kafka/b1");
        Assert.Contains("kafka/b1@REALM", why, StringComparison.Ordinal);
        Assert.Contains("KRB5_TRACE", why, StringComparison.Ordinal);
        Assert.Contains("klist", why, StringComparison.Ordinal);
    }

    [Fact]
    public void TheKeytabsFirstPrincipalIsRead()
    {
        // MIT keytab v2: version, then entries of (size, principal: component count, realm, components, name type, ...).
        byte[] keytab =
        [
            5, 2,
            0, 0, 0, 40,
            0, 2, 0, 11, .. "EXAMPLE.COM"u8, 0, 5, .. "kafka"u8, 0, 4, .. "host"u8, 0, 0, 0, 1, 0, 0, 0, 0, 2,
            0, 0,
        ];
        Assert.Equal("kafka/host@EXAMPLE.COM", KerberosEnvironment.FirstPrincipal(keytab));
        Assert.Throws<FormatException>(() => KerberosEnvironment.FirstPrincipal([5, 2]));
        Assert.Throws<FormatException>(() => KerberosEnvironment.FirstPrincipal("not a keytab"u8));
        Assert.True(KerberosEnvironment.SamePrincipal("kafka/host@EXAMPLE.COM", "kafka/host"));
        Assert.True(KerberosEnvironment.SamePrincipal("p@R", "p@R"));
        Assert.False(KerberosEnvironment.SamePrincipal("p@R", "p@S"));
        Assert.False(KerberosEnvironment.SamePrincipal("pq@R", "p"));
    }

    [Fact]
    public void TicketCacheWithTheServiceNameKey()
    {
        var s = Resolve(Valid(("sasl.mechanism", "GSSAPI"), ("sasl.kerberos.service.name", "kafka")));
        Assert.Equal(SaslMechanism.Gssapi, s.Mechanism);
        Assert.Equal("kafka", s.KerberosServiceName);
        Assert.Null(s.KerberosPrincipal);
        Assert.Null(s.KerberosKeytab);
    }

    [Fact]
    public void TheServiceNameMayComeFromJaasAndTheKeyWins()
    {
        var jaas = $"{Krb5} required useTicketCache=true serviceName=\"kafka-jaas\";";
        Assert.Equal("kafka-jaas", Resolve(Valid(("sasl.mechanism", "GSSAPI"), ("sasl.jaas.config", jaas))).KerberosServiceName);
        Assert.Equal("kafka", Resolve(Valid(("sasl.mechanism", "GSSAPI"), ("sasl.kerberos.service.name", "kafka"), ("sasl.jaas.config", jaas))).KerberosServiceName);
    }

    [Fact]
    public void KeytabAndPrincipal()
    {
        var keytab = Path.GetTempFileName();
        try
        {
            var s = Resolve(Valid(
                ("sasl.mechanism", "GSSAPI"),
                ("sasl.kerberos.service.name", "kafka"),
                ("sasl.jaas.config", $"{Krb5} required useKeyTab=true storeKey=true keyTab=\"{keytab}\" principal=\"producer@EXAMPLE.COM\";")));
            Assert.Equal(keytab, s.KerberosKeytab);
            Assert.Equal("producer@EXAMPLE.COM", s.KerberosPrincipal);
        }
        finally
        {
            File.Delete(keytab);
        }
    }

    [Theory]
    [InlineData("useKeyTab=true principal=\"p@R\"", "keyTab")]
    [InlineData("useKeyTab=true keyTab=\"/nonexistent/x.keytab\" principal=\"p@R\"", "does not exist")]
    [InlineData("keyTab=\"/etc/hostname\" principal=\"p@R\"", "useKeyTab=true")]
    [InlineData("useTicketCache=true ticketCache=\"/tmp/cc\"", "KRB5CCNAME")]
    [InlineData("useTicketCache=true useFirstPass=true", "useFirstPass")]
    public void KerberosJaasOptionsThatCannotWorkAreRefused(string options, string mention)
    {
        var e = Invalid(("sasl.mechanism", "GSSAPI"), ("sasl.kerberos.service.name", "kafka"), ("sasl.jaas.config", $"{Krb5} required {options};"));
        Assert.Equal("sasl.jaas.config", e.Key);
        Assert.Contains(mention, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("kafka/broker1")]
    [InlineData("kafka@REALM")]
    public void TheServiceNameIsTheServiceAlone(string value) =>
        Assert.Equal("sasl.kerberos.service.name", Invalid(("sasl.mechanism", "GSSAPI"), ("sasl.kerberos.service.name", value)).Key);

    [Fact]
    public void AUserNameAndPasswordAreNotKerberosCredentials()
    {
        var o = ProducerOptions.Default with
        {
            BootstrapServers = ["b:9092"],
            SecurityProtocol = SecurityProtocol.SaslPlaintext,
            Sasl = new SaslOptions { Mechanism = SaslMechanism.Gssapi, KerberosServiceName = "kafka", Username = "u", Password = "p" },
        };
        Assert.Equal("sasl.mechanism", Assert.Throws<ConfigException>(() => o.Validate()).Key);
    }

    [Fact]
    public void JavasKerberosRenewalKeysAreRejectedWithTheReason()
    {
        var e = Assert.Throws<ConfigException>(() => ProducerOptions.FromProperties([new("sasl.kerberos.min.time.before.relogin", "60000")]));
        Assert.Contains("keytab", e.Message, StringComparison.Ordinal);
    }
}
