using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Security;

namespace Samsa.Tests.Security;

/// <summary>The <c>sasl.*</c> keys: parsing, the checks at Build(), and secrets kept out of messages and ToString().</summary>
public sealed class SaslConfigTests
{
    private const string Plain = "org.apache.kafka.common.security.plain.PlainLoginModule";
    private const string Scram = "org.apache.kafka.common.security.scram.ScramLoginModule";
    private const string OAuth = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";
    private const string Secret = "s3cr3t-hunter2";

    private static ProducerOptions Parse(params (string Key, string Value)[] settings) =>
        ProducerOptions.FromProperties([new("bootstrap.servers", "b:9092"), .. settings.Select(s => new KeyValuePair<string, string>(s.Key, s.Value))]);

    private static ProducerOptions Valid(params (string Key, string Value)[] settings) => Parse(settings).Validate();

    private static ConfigException Invalid(params (string Key, string Value)[] settings)
    {
        var e = Assert.Throws<ConfigException>(() => Valid(settings));
        Assert.DoesNotContain(Secret, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, e.Value ?? "", StringComparison.Ordinal);
        return e;
    }

    private static (string, string) Sasl => ("security.protocol", "SASL_PLAINTEXT");

    [Fact]
    public void ConfluentCloudStylePropertiesResolveToPlain()
    {
        var o = Valid(Sasl, ("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", $"{Plain} required username=\"KEY\" password=\"{Secret}\";"));
        var sasl = Samsa.Security.Sasl.SaslSettings.Resolve(o.SecurityProtocol, o.Sasl)!;
        Assert.Equal(SaslMechanism.Plain, sasl.Mechanism);
        Assert.Equal("KEY", sasl.Username);
        Assert.Equal(Secret, sasl.Password);
    }

    [Theory]
    [InlineData("SCRAM-SHA-256", SaslMechanism.ScramSha256)]
    [InlineData("scram-sha-512", SaslMechanism.ScramSha512)]
    [InlineData("OAUTHBEARER", SaslMechanism.OAuthBearer)]
    [InlineData("GSSAPI", SaslMechanism.Gssapi)]
    public void MechanismNames(string value, SaslMechanism expected) =>
        Assert.Equal(expected, Parse(("sasl.mechanism", value)).Sasl?.Mechanism);

    [Fact]
    public void ScramTokenAuthFromJaas()
    {
        var o = Valid(Sasl, ("sasl.mechanism", "SCRAM-SHA-256"), ("sasl.jaas.config", $"{Scram} required username=\"tokenid\" password=\"{Secret}\" tokenauth=\"true\";"));
        Assert.True(Samsa.Security.Sasl.SaslSettings.Resolve(o.SecurityProtocol, o.Sasl)!.ScramTokenAuth);
    }

    [Fact]
    public void TheDefaultMechanismIsJavasGssapiWhichSaysToSetSaslMechanism()
    {
        var e = Invalid(Sasl, ("sasl.jaas.config", $"{Plain} required username=\"u\" password=\"{Secret}\";"));
        Assert.Equal("sasl.mechanism", e.Key);
        Assert.Contains("GSSAPI", e.Message, StringComparison.Ordinal);
        Assert.Contains("set sasl.mechanism to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or AWS_MSK_IAM", e.Message, StringComparison.Ordinal);
        // Nothing at all: GSSAPI needs the service name, and the message also says how to pick another mechanism.
        var none = Invalid(Sasl);
        Assert.Equal("sasl.kerberos.service.name", none.Key);
        Assert.Contains("set sasl.mechanism to PLAIN", none.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownAndUnsupportedMechanisms()
    {
        Assert.Equal(SaslMechanism.AwsMskIam, Parse(("sasl.mechanism", "AWS_MSK_IAM")).Sasl?.Mechanism);
        var e = Assert.Throws<ConfigException>(() => Parse(("sasl.mechanism", "DIGEST-MD5")));
        Assert.Equal("sasl.mechanism", e.Key);
        Assert.Contains("PLAIN, SCRAM-SHA-256", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SaslSettingsWithoutASaslProtocolAreAMistakeNotIgnored()
    {
        var e = Invalid(("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", $"{Plain} required username=\"u\" password=\"{Secret}\";"));
        Assert.Equal("sasl.jaas.config", e.Key);
        Assert.Contains("security.protocol", e.Message, StringComparison.Ordinal);
        Assert.Contains("PLAINTEXT", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void JaasErrorsNameTheKeyButNotTheValue()
    {
        var e = Invalid(Sasl, ("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", $"{Plain} required username=\"u\" password=\"{Secret}\""));
        Assert.Equal("sasl.jaas.config", e.Key);
        Assert.Contains("not terminated by ';'", e.Message, StringComparison.Ordinal);
        Assert.Null(e.Value);
    }

    [Theory]
    [InlineData("username=\"u\"", "needs a password")]
    [InlineData("password=\"" + Secret + "\"", "needs a user name")]
    public void MissingCredentialsInJaas(string options, string why)
    {
        var e = Invalid(Sasl, ("sasl.mechanism", "SCRAM-SHA-512"), ("sasl.jaas.config", $"{Scram} required {options};"));
        Assert.Equal("sasl.jaas.config", e.Key);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
        Assert.Contains("to 'sasl.jaas.config'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoCredentialsAtAllSaysWhereToPutThem()
    {
        var e = Invalid(Sasl, ("sasl.mechanism", "PLAIN"));
        Assert.Contains("sasl.jaas.config", e.Message, StringComparison.Ordinal);
        Assert.Contains("SaslOptions.Username", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("com.sun.security.auth.module.Krb5LoginModule", "Kerberos")]
    [InlineData("software.amazon.msk.auth.iam.IAMLoginModule", "AWS_MSK_IAM")]
    [InlineData("com.example.CustomLoginModule", "cannot load Java classes")]
    [InlineData(OAuth, "does not provide what PLAIN needs")]
    public void LoginModulesThatCannotServeTheMechanism(string module, string why)
    {
        var e = Invalid(Sasl, ("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", $"{module} required username=\"u\" password=\"{Secret}\";"));
        Assert.Equal("sasl.jaas.config", e.Key);
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AScramModuleServesPlainAsInJava()
    {
        var o = Valid(Sasl, ("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", $"{Scram} required username=\"u\" password=\"{Secret}\";"));
        Assert.Equal("u", Samsa.Security.Sasl.SaslSettings.Resolve(o.SecurityProtocol, o.Sasl)!.Username);
    }

    [Fact]
    public void TypedCredentialsAndJaasTogetherAreAConflict()
    {
        var options = new ProducerOptions
        {
            BootstrapServers = ["b:9092"],
            SecurityProtocol = SecurityProtocol.SaslPlaintext,
            Sasl = new SaslOptions { Mechanism = SaslMechanism.Plain, Username = "u", Password = Secret, JaasConfig = $"{Plain} required username=\"u\" password=\"{Secret}\";" },
        };
        var e = Assert.Throws<ConfigException>(options.Validate);
        Assert.Contains("one place", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OAuthBearerNeedsATokenSource()
    {
        var e = Invalid(Sasl, ("sasl.mechanism", "OAUTHBEARER"), ("sasl.jaas.config", $"{OAuth} required;"));
        Assert.Contains("sasl.oauthbearer.token.endpoint.url", e.Message, StringComparison.Ordinal);
        Assert.Contains("SetOAuthBearerTokenProvider", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OidcNeedsAClientIdAndSecret()
    {
        var e = Invalid(Sasl, ("sasl.mechanism", "OAUTHBEARER"), ("sasl.oauthbearer.token.endpoint.url", "https://idp.example/token"), ("sasl.jaas.config", $"{OAuth} required clientId=\"id\";"));
        Assert.Equal("sasl.oauthbearer.client.credentials.client.secret", e.Key);
        e = Invalid(Sasl, ("sasl.mechanism", "OAUTHBEARER"), ("sasl.oauthbearer.token.endpoint.url", "https://idp.example/token"));
        Assert.Equal("sasl.oauthbearer.client.credentials.client.id", e.Key);
        Assert.Equal("sasl.oauthbearer.token.endpoint.url", Invalid(Sasl, ("sasl.mechanism", "OAUTHBEARER"), ("sasl.oauthbearer.token.endpoint.url", "ftp://x/y")).Key);
    }

    [Fact]
    public void OidcFromJaasAndFromKafka41Keys()
    {
        var o = Valid(
            Sasl,
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.login.callback.handler.class", "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler"),
            ("sasl.oauthbearer.token.endpoint.url", "https://idp.example/oauth2/token"),
            ("sasl.jaas.config", $"{OAuth} required clientId=\"jaas-id\" clientSecret=\"{Secret}\" scope=\"kafka\" extension_logicalCluster=\"lkc-1\" extension_identityPoolId=\"pool-2\";"));
        var s = Samsa.Security.Sasl.SaslSettings.Resolve(o.SecurityProtocol, o.Sasl)!;
        Assert.Equal(("jaas-id", Secret, "kafka"), (s.ClientId, s.ClientSecret, s.Scope));
        Assert.Equal(new Dictionary<string, string> { ["logicalCluster"] = "lkc-1", ["identityPoolId"] = "pool-2" }, s.Extensions);

        // Kafka 4.1's keys win over the JAAS options, as in Java.
        o = Valid(
            Sasl,
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.oauthbearer.token.endpoint.url", "https://idp.example/oauth2/token"),
            ("sasl.oauthbearer.client.credentials.client.id", "key-id"),
            ("sasl.oauthbearer.client.credentials.client.secret", Secret),
            ("sasl.oauthbearer.scope", "s1 s2"),
            ("sasl.oauthbearer.jwt.retriever.class", "org.apache.kafka.common.security.oauthbearer.ClientCredentialsJwtRetriever"),
            ("sasl.jaas.config", $"{OAuth} required clientId=\"jaas-id\";"));
        s = Samsa.Security.Sasl.SaslSettings.Resolve(o.SecurityProtocol, o.Sasl)!;
        Assert.Equal(("key-id", "s1 s2"), (s.ClientId, s.Scope));
    }

    [Fact]
    public void OnlyJavasOidcCallbackHandlerIsAccepted()
    {
        var e = Invalid(Sasl, ("sasl.mechanism", "OAUTHBEARER"), ("sasl.login.callback.handler.class", "com.example.MyHandler"), ("sasl.oauthbearer.token.endpoint.url", "https://idp/t"));
        Assert.Equal("sasl.login.callback.handler.class", e.Key);
        Assert.Contains("cannot load", e.Message, StringComparison.Ordinal);
        Assert.Contains("SetOAuthBearerTokenProvider", e.Message, StringComparison.Ordinal);
        var handlerWithoutUrl = Invalid(Sasl, ("sasl.mechanism", "OAUTHBEARER"), ("sasl.login.callback.handler.class", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"));
        Assert.Contains("sasl.oauthbearer.token.endpoint.url", handlerWithoutUrl.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnsecuredDevelopmentTokensAreRefusedWithAReason()
    {
        var e = Invalid(Sasl, ("sasl.mechanism", "OAUTHBEARER"), ("sasl.jaas.config", $"{OAuth} required unsecuredLoginStringClaim_sub=\"me\";"));
        Assert.Contains("unsecured", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("extension_bad_name", "letters")]
    [InlineData("extension_auth", "reserved")]
    public void BadExtensionsInJaas(string option, string why)
    {
        var e = Invalid(Sasl, ("sasl.mechanism", "OAUTHBEARER"), ("sasl.oauthbearer.token.endpoint.url", "https://idp/t"), ("sasl.jaas.config", $"{OAuth} required clientId=\"i\" clientSecret=\"{Secret}\" {option}=\"v\";"));
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sasl.login.refresh.window.factor", "0.4")]
    [InlineData("sasl.login.refresh.window.factor", "1.1")]
    [InlineData("sasl.login.refresh.window.jitter", "0.3")]
    [InlineData("sasl.login.refresh.min.period.seconds", "901")]
    [InlineData("sasl.login.refresh.buffer.seconds", "3601")]
    [InlineData("sasl.login.connect.timeout.ms", "0")]
    [InlineData("sasl.login.read.timeout.ms", "-5")]
    [InlineData("sasl.login.retry.backoff.ms", "-1")]
    [InlineData("sasl.oauthbearer.sub.claim.name", " ")]
    public void RangesAreCheckedAtBuild(string key, string value)
    {
        var e = Invalid(Sasl, ("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", $"{Plain} required username=\"u\" password=\"{Secret}\";"), (key, value));
        Assert.Equal(key, e.Key);
    }

    [Theory]
    [InlineData("sasl.login.refresh.window.factor", "abc")]
    [InlineData("sasl.oauthbearer.header.urlencode", "yes")]
    [InlineData("sasl.login.retry.backoff.max.ms", "1.5")]
    [InlineData("sasl.oauthbearer.jwt.retriever.class", "org.apache.kafka.common.security.oauthbearer.JwtBearerJwtRetriever")]
    public void ValuesThatDoNotParse(string key, string value) =>
        Assert.Equal(key, Assert.Throws<ConfigException>(() => Parse((key, value))).Key);

    [Fact]
    public void EveryKeyParsesIntoTypedOptions()
    {
        (string Key, string Value)[] all =
        [
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.jaas.config", $"{OAuth} required;"),
            ("sasl.login.callback.handler.class", "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler"),
            ("sasl.oauthbearer.token.endpoint.url", "https://idp/t"),
            ("sasl.oauthbearer.client.credentials.client.id", "id"),
            ("sasl.oauthbearer.client.credentials.client.secret", Secret),
            ("sasl.oauthbearer.scope", "sc"),
            ("sasl.oauthbearer.jwt.retriever.class", "org.apache.kafka.common.security.oauthbearer.DefaultJwtRetriever"),
            ("sasl.oauthbearer.jwt.validator.class", "org.apache.kafka.common.security.oauthbearer.ClientJwtValidator"),
        ];
        var keys = new[]
        {
            "sasl.kerberos.service.name", "sasl.oauthbearer.scope.claim.name", "sasl.oauthbearer.sub.claim.name", "sasl.oauthbearer.header.urlencode",
            "sasl.login.refresh.window.factor", "sasl.login.refresh.window.jitter", "sasl.login.refresh.min.period.seconds", "sasl.login.refresh.buffer.seconds",
            "sasl.login.connect.timeout.ms", "sasl.login.read.timeout.ms", "sasl.login.retry.backoff.ms", "sasl.login.retry.backoff.max.ms",
            "sasl.client.callback.handler.class",
        };
        Assert.Equal(SaslConfigKeys.All.Order(), all.Select(a => a.Key).Concat(keys).Order());
        var oauth = Valid([Sasl, .. all]).Sasl!;
        Assert.Equal(("https://idp/t", "id", Secret, "sc"), (oauth.OAuthBearerTokenEndpointUrl, oauth.OAuthBearerClientId, oauth.OAuthBearerClientSecret, oauth.OAuthBearerScope));

        var o = Parse(
            ("sasl.kerberos.service.name", "kafka"),
            ("sasl.oauthbearer.scope.claim.name", "scp"),
            ("sasl.oauthbearer.sub.claim.name", "client_id"),
            ("sasl.oauthbearer.header.urlencode", "true"),
            ("sasl.login.refresh.window.factor", "0.9"),
            ("sasl.login.refresh.window.jitter", "0.1"),
            ("sasl.login.refresh.min.period.seconds", "30"),
            ("sasl.login.refresh.buffer.seconds", "120"),
            ("sasl.login.connect.timeout.ms", "2000"),
            ("sasl.login.read.timeout.ms", "3000"),
            ("sasl.login.retry.backoff.ms", "50"),
            ("sasl.login.retry.backoff.max.ms", "5000"),
            ("sasl.client.callback.handler.class", "software.amazon.msk.auth.iam.IAMClientCallbackHandler")).Sasl!;
        Assert.Equal("kafka", o.KerberosServiceName);
        Assert.Equal("software.amazon.msk.auth.iam.IAMClientCallbackHandler", o.ClientCallbackHandlerClass);
        Assert.Equal(("scp", "client_id", true), (o.OAuthBearerScopeClaimName, o.OAuthBearerSubClaimName, o.OAuthBearerHeaderUrlEncode));
        Assert.Equal((0.9, 0.1), (o.LoginRefreshWindowFactor, o.LoginRefreshWindowJitter));
        Assert.Equal((TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(120)), (o.LoginRefreshMinPeriod, o.LoginRefreshBuffer));
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3)), (o.LoginConnectTimeout, o.LoginReadTimeout));
        Assert.Equal((TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(5)), (o.LoginRetryBackoff, o.LoginRetryBackoffMax));
    }

    [Fact]
    public void ATypoInASaslKeyGetsASuggestion()
    {
        // (sasl.mechanisms, librdkafka's name, is an alias: LibrdkafkaKeyTests.)
        var e = Assert.Throws<ConfigException>(() => Parse(("sasl.mechansim", "PLAIN")));
        Assert.Equal("sasl.mechanism", e.Suggestion);
    }

    [Fact]
    public void OptionsToStringHidesEverySecret()
    {
        var options = new ProducerOptions
        {
            BootstrapServers = ["b:9092"],
            SecurityProtocol = SecurityProtocol.SaslPlaintext,
            Sasl = new SaslOptions
            {
                Mechanism = SaslMechanism.OAuthBearer,
                Username = "user-visible",
                Password = Secret,
                JaasConfig = $"{OAuth} required clientSecret=\"{Secret}\";",
                OAuthBearerClientId = "client-visible",
                OAuthBearerClientSecret = Secret,
                OAuthBearerExtensions = new Dictionary<string, string> { ["logicalCluster"] = "lkc" },
                OAuthBearerTokenProvider = _ => ValueTask.FromResult(new OAuthBearerToken(Secret, DateTimeOffset.UtcNow, "p")),
            },
        };
        var text = options.ToString();
        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
        Assert.Contains("user-visible", text, StringComparison.Ordinal);
        Assert.Contains("client-visible", text, StringComparison.Ordinal);
        Assert.Contains("Password = (hidden)", text, StringComparison.Ordinal);
        Assert.Contains("Mechanism = OAUTHBEARER", text, StringComparison.Ordinal);

        var token = new OAuthBearerToken(Secret, DateTimeOffset.UnixEpoch, "principal-visible");
        Assert.DoesNotContain(Secret, token.ToString(), StringComparison.Ordinal);
        Assert.Contains("principal-visible", token.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheBuilderTokenProviderCompletesOAuthBearerOptions()
    {
        var options = new ProducerOptions { BootstrapServers = ["127.0.0.1:1"], SecurityProtocol = SecurityProtocol.SaslPlaintext, Sasl = new SaslOptions { Mechanism = SaslMechanism.OAuthBearer } };
        Assert.Throws<ConfigException>(() => new ProducerBuilder<string, string>(options).Build());
        await using var producer = new ProducerBuilder<string, string>(options)
            .SetOAuthBearerTokenProvider(_ => ValueTask.FromResult(new OAuthBearerToken("t", DateTimeOffset.UtcNow.AddHours(1), "p")))
            .Build();
    }

    [Fact]
    public void TheAuthenticatorFollowsTheMechanism()
    {
        using var plain = SaslAuthenticator.Create(Valid(Sasl, ("sasl.mechanism", "PLAIN"), ("sasl.jaas.config", $"{Plain} required username=\"u\" password=\"{Secret}\";")), NullLogger.Instance);
        Assert.Equal("PLAIN", plain!.Mechanism.Name);
        using var scram = SaslAuthenticator.Create(Valid(Sasl, ("sasl.mechanism", "SCRAM-SHA-512"), ("sasl.jaas.config", $"{Scram} required username=\"u\" password=\"{Secret}\";")), NullLogger.Instance);
        Assert.Equal("SCRAM-SHA-512", scram!.Mechanism.Name);
        Assert.Null(SaslAuthenticator.Create(Valid(), NullLogger.Instance));
    }
}
