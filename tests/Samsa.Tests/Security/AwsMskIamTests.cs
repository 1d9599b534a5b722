using System.Text;
using System.Text.Json;
using Samsa.Security.Sasl;

namespace Samsa.Tests.Security;

/// <summary>
/// AWS_MSK_IAM on the client side: the SigV4 steps against AWS's own published examples (not against our test front,
/// which could share a misunderstanding), the shape of the JSON message, the region from the host name, credentials
/// from the environment and profile files, and secrets kept out of text.
/// </summary>
public sealed class AwsMskIamTests
{
    // AWS's example credentials, used by the General Reference and the SigV4 test suite alike.
    private const string ExampleKeyId = "AKIDEXAMPLE";
    private const string ExampleSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    private const string SuiteToken = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";
    private static readonly DateTimeOffset SuiteTime = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);

    [Fact]
    public void IamListUsersExampleOfTheAwsGeneralReference()
    {
        // "Create a signed AWS API request" (AWS General Reference): GET iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08.
        var canonical = AwsSigV4.CanonicalRequest(
            "GET",
            "/",
            AwsSigV4.CanonicalQuery([new("Version", "2010-05-08"), new("Action", "ListUsers")]),
            [new("Host", "iam.amazonaws.com"), new("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"), new("X-Amz-Date", "20150830T123600Z")],
            AwsSigV4.EmptyPayloadHash);
        Assert.Equal(
            "GET\n/\nAction=ListUsers&Version=2010-05-08\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            canonical);
        var stringToSign = AwsSigV4.StringToSign("20150830T123600Z", "20150830/us-east-1/iam/aws4_request", canonical);
        Assert.Equal("AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59", stringToSign);
        var key = AwsSigV4.SigningKey(ExampleSecret, "20150830", "us-east-1", "iam");
        Assert.Equal("c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9", AwsSigV4.Hex(key));
        Assert.Equal("5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7", AwsSigV4.Signature(key, stringToSign));
    }

    [Fact]
    public void SigV4TestSuiteGetVanillaQueryOrderKeyCaseSignedInTheQuery()
    {
        // AWS SigV4 test suite, get-vanilla-query-order-key-case, query-signed variant (awslabs/aws-c-auth
        // tests/aws-signing-test-suite): GET /?Param2=value2&Param1=value1 on example.amazonaws.com, service "service".
        var query = new List<KeyValuePair<string, string>>
        {
            new("Param2", "value2"),
            new("Param1", "value1"),
            new("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
            new("X-Amz-Credential", "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"),
            new("X-Amz-Date", "20150830T123600Z"),
            new("X-Amz-SignedHeaders", "host"),
        };
        var canonical = AwsSigV4.CanonicalRequest("GET", "/", AwsSigV4.CanonicalQuery(query), [new("Host", "example.amazonaws.com")], AwsSigV4.EmptyPayloadHash);
        Assert.Equal(
            "GET\n/\nParam1=value1&Param2=value2&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host\nhost:example.amazonaws.com\n\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            canonical);
        var stringToSign = AwsSigV4.StringToSign("20150830T123600Z", "20150830/us-east-1/service/aws4_request", canonical);
        Assert.EndsWith("\neb1512f5ed1470925b7b1072c2108953680032d6bc3ccbef8eb7c6fdf1639827", stringToSign, StringComparison.Ordinal);
        Assert.Equal(
            "99fe619ddc7883a0738f7e90dc36a30badef2b551412ad283fd7338128bc73ac",
            AwsSigV4.Signature(AwsSigV4.SigningKey(ExampleSecret, "20150830", "us-east-1", "service"), stringToSign));
    }

    [Fact]
    public void SigV4TestSuiteGetVanillaWithSessionTokenPresignedAsMskIamPresigns()
    {
        // AWS SigV4 test suite, get-vanilla-with-session-token, query-signed-request: a presigned GET / with X-Amz-Expires
        // and the session token in the query, only host signed: the very shape of AWS_MSK_IAM, through our Presign.
        var query = AwsSigV4.Presign("example.amazonaws.com", "us-east-1", "service", new AwsCredentials(ExampleKeyId, ExampleSecret, SuiteToken), SuiteTime, 3600, []);
        var values = query.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        Assert.Equal("AKIDEXAMPLE/20150830/us-east-1/service/aws4_request", values["X-Amz-Credential"]);
        Assert.Equal("20150830T123600Z", values["X-Amz-Date"]);
        Assert.Equal("3600", values["X-Amz-Expires"]);
        Assert.Equal("host", values["X-Amz-SignedHeaders"]);
        Assert.Equal(SuiteToken, values["X-Amz-Security-Token"]);
        Assert.Equal("7ff2b50b376cb4d151970630573d6291dc128cc5c2a12ffb237f73cc53f67b6c", values["X-Amz-Signature"]);
        Assert.Equal("X-Amz-Signature", query[^1].Key);
    }

    [Fact]
    public void UriEncodingKeepsOnlyUnreservedCharacters()
    {
        Assert.Equal("kafka-cluster%3AConnect", AwsSigV4.UriEncode("kafka-cluster:Connect"));
        Assert.Equal("a%2Fb%20c%2Bd~e_f.g-h", AwsSigV4.UriEncode("a/b c+d~e_f.g-h"));
        Assert.Equal("%E1%88%B4", AwsSigV4.UriEncode("\u1234"));
    }

    [Fact]
    public void TheMessageIsMsksJsonWithEveryField()
    {
        var host = "b-1.demo.abc123.c2.kafka.eu-west-1.amazonaws.com";
        var payload = AwsMskIamMechanism.Payload(host, "eu-west-1", new AwsCredentials("AKIAEXAMPLE", ExampleSecret), SuiteTime, "samsa/1.0.0");
        using var json = JsonDocument.Parse(payload);
        var fields = json.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString(), StringComparer.Ordinal);
        Assert.Equal(
            ["action", "host", "user-agent", "version", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-expires", "x-amz-signature", "x-amz-signedheaders"],
            fields.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("2020_10_22", fields["version"]);
        Assert.Equal(host, fields["host"]);
        Assert.Equal("kafka-cluster:Connect", fields["action"]);
        Assert.Equal("AWS4-HMAC-SHA256", fields["x-amz-algorithm"]);
        Assert.Equal("AKIAEXAMPLE/20150830/eu-west-1/kafka-cluster/aws4_request", fields["x-amz-credential"]);
        Assert.Equal("20150830T123600Z", fields["x-amz-date"]);
        Assert.Equal("900", fields["x-amz-expires"]);
        Assert.Equal("host", fields["x-amz-signedheaders"]);
        Assert.Matches("^[0-9a-f]{64}$", fields["x-amz-signature"]);

        // The signature is the SigV4 one over the fields, whatever their order in the JSON: recompute it from them.
        var signed = fields.Where(f => f.Key is not ("version" or "host" or "user-agent" or "x-amz-signature"))
            .Select(f => new KeyValuePair<string, string>(f.Key == "action" ? "Action" : CanonicalName(f.Key), f.Value!));
        var canonical = AwsSigV4.CanonicalRequest("GET", "/", AwsSigV4.CanonicalQuery(signed), [new("host", host)], AwsSigV4.EmptyPayloadHash);
        var expected = AwsSigV4.Signature(AwsSigV4.SigningKey(ExampleSecret, "20150830", "eu-west-1", "kafka-cluster"), AwsSigV4.StringToSign("20150830T123600Z", "20150830/eu-west-1/kafka-cluster/aws4_request", canonical));
        Assert.Equal(expected, fields["x-amz-signature"]);
        Assert.DoesNotContain(ExampleSecret, Encoding.UTF8.GetString(payload), StringComparison.Ordinal);
    }

    [Fact]
    public void TheSessionTokenIsSentAndSignedWhenThereIsOne()
    {
        var host = "b-2.demo.abc123.c2.kafka.us-east-1.amazonaws.com";
        var without = Fields(AwsMskIamMechanism.Payload(host, "us-east-1", new AwsCredentials("ASIAEXAMPLE", ExampleSecret), SuiteTime, "ua"));
        var with = Fields(AwsMskIamMechanism.Payload(host, "us-east-1", new AwsCredentials("ASIAEXAMPLE", ExampleSecret, "token/with+odd=chars"), SuiteTime, "ua"));
        Assert.False(without.ContainsKey("x-amz-security-token"));
        Assert.Equal("token/with+odd=chars", with["x-amz-security-token"]);
        Assert.NotEqual(without["x-amz-signature"], with["x-amz-signature"]);
    }

    [Theory]
    [InlineData("b-1.mycluster.abc123.c2.kafka.us-east-1.amazonaws.com", "us-east-1")]
    [InlineData("b-3.cluster.xxxx.kafka.eu-central-2.amazonaws.com", "eu-central-2")]
    [InlineData("boot-abcd.c1.kafka-serverless.ap-southeast-4.amazonaws.com", "ap-southeast-4")]
    [InlineData("b-1.c.x.c3.kafka.us-gov-west-1.amazonaws.com", "us-gov-west-1")]
    [InlineData("b-1.c.x.kafka.cn-north-1.amazonaws.com.cn", "cn-north-1")]
    [InlineData("localhost", null)]
    [InlineData("127.0.0.1", null)]
    [InlineData("kafka-1.internal.example.com", null)]
    public void RegionFromTheBrokerHostName(string host, string? region) => Assert.Equal(region, AwsMskIamMechanism.RegionOfHost(host));

    [Fact]
    public async Task TheBrokersJsonAnswerCompletesTheExchangeAndAnythingElseIsRefused()
    {
        var mechanism = new AwsMskIamMechanism(_ => ValueTask.FromResult(new AwsCredentials("AKIAEXAMPLE", ExampleSecret)), Sources(new()), null, new FixedTime(SuiteTime));
        var exchange = await mechanism.BeginAsync("b-1.x.kafka.us-east-1.amazonaws.com", TimeSpan.Zero, CancellationToken.None);
        Assert.Equal("us-east-1", Fields(exchange.Start())["x-amz-credential"].Split('/')[2]);
        Assert.Null(exchange.Respond("""{"version":"2020_10_22","request-id":"f00d"}"""u8));

        var again = await mechanism.BeginAsync("b-1.x.kafka.us-east-1.amazonaws.com", TimeSpan.Zero, CancellationToken.None);
        again.Start();
        Assert.Throws<KafkaAuthenticationException>(() => again.Respond([]));
        Assert.Throws<KafkaAuthenticationException>(() => again.Respond("not json"u8));
    }

    [Fact]
    public async Task ARegionIsNeededWhenTheHostHasNone()
    {
        var credentials = new AwsCredentials("AKIAEXAMPLE", ExampleSecret);
        var none = new AwsMskIamMechanism(_ => ValueTask.FromResult(credentials), Sources(new()), null);
        var e = await Assert.ThrowsAsync<KafkaAuthenticationException>(async () => await none.BeginAsync("127.0.0.1", TimeSpan.Zero, CancellationToken.None));
        Assert.Contains("AWS_REGION", e.Message, StringComparison.Ordinal);

        var fromEnv = new AwsMskIamMechanism(_ => ValueTask.FromResult(credentials), Sources(new() { ["AWS_DEFAULT_REGION"] = "sa-east-1" }), null);
        Assert.Contains("/sa-east-1/", Fields((await fromEnv.BeginAsync("127.0.0.1", TimeSpan.Zero, CancellationToken.None)).Start())["x-amz-credential"], StringComparison.Ordinal);

        // A configured region wins over the host's.
        var configured = new AwsMskIamMechanism(_ => ValueTask.FromResult(credentials), Sources(new()), "eu-north-1");
        Assert.Contains("/eu-north-1/", Fields((await configured.BeginAsync("b-1.x.kafka.us-east-1.amazonaws.com", TimeSpan.Zero, CancellationToken.None)).Start())["x-amz-credential"], StringComparison.Ordinal);
    }

    [Fact]
    public void CredentialsFromTheEnvironment()
    {
        var c = Sources(new() { ["AWS_ACCESS_KEY_ID"] = "AKIAENV", ["AWS_SECRET_ACCESS_KEY"] = "env-secret", ["AWS_SESSION_TOKEN"] = "env-token" }).Resolve();
        Assert.Equal(new AwsCredentials("AKIAENV", "env-secret", "env-token"), c);
    }

    [Fact]
    public void CredentialsAndRegionFromTheProfileFiles()
    {
        using var dir = new TempDir();
        File.WriteAllText(Path.Combine(dir.Path, "credentials"), """
            # comment
            [default]
            aws_access_key_id = AKIADEFAULT
            aws_secret_access_key = default-secret

            [team]
            aws_access_key_id=AKIATEAM
            aws_secret_access_key=team-secret
            aws_session_token=team-token
            """);
        File.WriteAllText(Path.Combine(dir.Path, "config"), """
            [default]
            region = us-west-2
            [profile team]
            region = eu-west-3
            s3 =
              max_concurrent_requests = 20
            [profile sso]
            sso_session = corp
            """);
        var files = new Dictionary<string, string> { ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(dir.Path, "credentials"), ["AWS_CONFIG_FILE"] = Path.Combine(dir.Path, "config") };

        Assert.Equal(new AwsCredentials("AKIADEFAULT", "default-secret"), Sources(files).Resolve());
        Assert.Equal("us-west-2", Sources(files).Region());
        Assert.Equal(new AwsCredentials("AKIATEAM", "team-secret", "team-token"), Sources(new(files) { ["AWS_PROFILE"] = "team" }).Resolve());

        // awsProfileName comes first, before the environment's keys.
        var named = new AwsCredentialSources("team", k => new Dictionary<string, string>(files) { ["AWS_ACCESS_KEY_ID"] = "AKIAENV", ["AWS_SECRET_ACCESS_KEY"] = "s" }.GetValueOrDefault(k), null);
        Assert.Equal("AKIATEAM", named.Resolve().AccessKeyId);
        Assert.Equal("eu-west-3", named.Region());

        // A profile that needs the AWS SDK says so, and where to plug it in.
        var sso = Assert.Throws<KafkaAuthenticationException>(() => Sources(new(files) { ["AWS_PROFILE"] = "sso" }).Resolve());
        Assert.Contains("sso_session", sso.Message, StringComparison.Ordinal);
        Assert.Contains("SetAwsCredentialsProvider", sso.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NoCredentialsAnywhereIsAClearFailure()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<KafkaAuthenticationException>(() => new AwsCredentialSources(null, _ => null, dir.Path).Resolve());
        Assert.Contains("AWS_ACCESS_KEY_ID", e.Message, StringComparison.Ordinal);
        Assert.Contains("SetAwsCredentialsProvider", e.Message, StringComparison.Ordinal);
        Assert.True(e.IsFatal);
    }

    [Fact]
    public void SecretsNeverAppearInToString()
    {
        var credentials = new AwsCredentials("AKIAVISIBLE", "the-Secret-Key-42", "the-Session-Token-43");
        var text = credentials.ToString();
        Assert.Contains("AKIAVISIBLE", text, StringComparison.Ordinal);
        Assert.DoesNotContain("the-Secret-Key-42", text, StringComparison.Ordinal);
        Assert.DoesNotContain("the-Session-Token-43", text, StringComparison.Ordinal);
        var options = new SaslOptions { Mechanism = SaslMechanism.AwsMskIam, AwsCredentialsProvider = _ => ValueTask.FromResult(credentials) }.ToString();
        Assert.Contains("AwsCredentialsProvider = (set)", options, StringComparison.Ordinal);
        Assert.Contains("AWS_MSK_IAM", options, StringComparison.Ordinal);
    }

    [Fact]
    public void AmazonMsksJavaClientPropertiesWorkUnchanged()
    {
        var o = ProducerOptions.FromProperties(JavaProperties.Parse("""
            bootstrap.servers=b-1.demo.abc123.c2.kafka.us-east-1.amazonaws.com:9098
            security.protocol=SASL_SSL
            sasl.mechanism=AWS_MSK_IAM
            sasl.jaas.config=software.amazon.msk.auth.iam.IAMLoginModule required;
            sasl.client.callback.handler.class=software.amazon.msk.auth.iam.IAMClientCallbackHandler
            """)).Validate();
        var settings = SaslSettings.Resolve(o.SecurityProtocol, o.Sasl)!;
        Assert.Equal(SaslMechanism.AwsMskIam, settings.Mechanism);
        Assert.Null(settings.AwsProfileName);
        Assert.Equal("AWS_MSK_IAM", settings.MechanismText);
    }

    [Fact]
    public void AProfileNameInTheJaasConfig()
    {
        var settings = Settings(("sasl.jaas.config", "software.amazon.msk.auth.iam.IAMLoginModule required awsProfileName=\"team\" awsMaxRetries=\"3\";"));
        Assert.Equal("team", settings.AwsProfileName);
    }

    [Theory]
    [InlineData("awsRoleArn=\"arn:aws:iam::123456789012:role/kafka\"", "awsRoleArn")]
    [InlineData("awsRoleArn=\"arn:aws:iam::1:role/r\" awsRoleSessionName=\"s\" awsStsRegion=\"us-west-2\"", "awsRoleArn")]
    [InlineData("awsDebugCreds=\"true\"", "awsDebugCreds")]
    public void JaasOptionsThatNeedTheAwsSdkAreRefusedWithTheWayOut(string options, string named)
    {
        var e = Assert.Throws<ConfigException>(() => Settings(("sasl.jaas.config", $"software.amazon.msk.auth.iam.IAMLoginModule required {options};")));
        Assert.Equal("sasl.jaas.config", e.Key);
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
        if (named == "awsRoleArn")
        {
            Assert.Contains("SetAwsCredentialsProvider", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TheCallbackHandlerKeyTakesOnlyTheAwsHandlerAndOnlyWithAwsMskIam()
    {
        var other = Assert.Throws<ConfigException>(() => Settings(("sasl.client.callback.handler.class", "com.example.MyHandler")));
        Assert.Equal("sasl.client.callback.handler.class", other.Key);
        Assert.Contains("cannot load", other.Message, StringComparison.Ordinal);

        var plain = Assert.Throws<ConfigException>(() => ProducerOptions.FromProperties(JavaProperties.Parse("""
            bootstrap.servers=b:9092
            security.protocol=SASL_SSL
            sasl.mechanism=PLAIN
            sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="p";
            sasl.client.callback.handler.class=software.amazon.msk.auth.iam.IAMClientCallbackHandler
            """)).Validate());
        Assert.Contains("AWS_MSK_IAM", plain.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AProfileAndAProviderTogetherAreAConflict()
    {
        var options = new ProducerOptions
        {
            BootstrapServers = ["b:9092"],
            SecurityProtocol = SecurityProtocol.SaslSsl,
            Sasl = new SaslOptions
            {
                Mechanism = SaslMechanism.AwsMskIam,
                JaasConfig = "software.amazon.msk.auth.iam.IAMLoginModule required awsProfileName=\"x\";",
                AwsCredentialsProvider = _ => ValueTask.FromResult(new AwsCredentials("a", "b")),
            },
        };
        Assert.Contains("one source", Assert.Throws<ConfigException>(options.Validate).Message, StringComparison.Ordinal);
    }

    private static SaslSettings Settings(params (string Key, string Value)[] extra)
    {
        var o = ProducerOptions.FromProperties(
            [new("bootstrap.servers", "b:9092"), new("security.protocol", "SASL_SSL"), new("sasl.mechanism", "AWS_MSK_IAM"), .. extra.Select(e => new KeyValuePair<string, string>(e.Key, e.Value))]).Validate();
        return SaslSettings.Resolve(o.SecurityProtocol, o.Sasl)!;
    }

    private static string CanonicalName(string lower) => lower switch
    {
        "x-amz-algorithm" => "X-Amz-Algorithm",
        "x-amz-credential" => "X-Amz-Credential",
        "x-amz-date" => "X-Amz-Date",
        "x-amz-expires" => "X-Amz-Expires",
        "x-amz-signedheaders" => "X-Amz-SignedHeaders",
        "x-amz-security-token" => "X-Amz-Security-Token",
        _ => throw new ArgumentException(lower),
    };

    private static Dictionary<string, string> Fields(byte[] payload)
    {
        using var json = JsonDocument.Parse(payload);
        return json.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!, StringComparer.Ordinal);
    }

    private static AwsCredentialSources Sources(Dictionary<string, string> environment) =>
        new(null, environment.GetValueOrDefault, "/nonexistent-home");

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("samsa-aws-").FullName;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
