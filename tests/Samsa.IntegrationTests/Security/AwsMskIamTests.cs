using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Samsa.Testing.Security;

namespace Samsa.IntegrationTests.Security;

/// <summary>
/// AWS_MSK_IAM end to end: the producer signs with credentials from the environment, a profile file or a provider, the
/// SASL front recomputes the SigV4 signature from its own table of access keys, and Confluent.Kafka's consumer reads the
/// records back through the same front (with PLAIN: librdkafka has no AWS_MSK_IAM).
/// </summary>
/// <remarks>The tests of this class change the process's AWS_* environment variables; xUnit runs a class's tests one at
/// a time, and no other test reads them.</remarks>
public sealed class AwsMskIamTests
{
    private const string IamModule = "software.amazon.msk.auth.iam.IAMLoginModule";
    private const string IamHandler = "software.amazon.msk.auth.iam.IAMClientCallbackHandler";
    private const string Secret = "msk-Secret-Access-Key/4711+x";
    private const string SessionToken = "msk-Session-Token-0815//token==";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private static readonly string[] s_awsVariables =
        ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"];

    [StunnelFact]
    public async Task AmazonMsksJavaPropertiesWithEnvironmentCredentialsOverTls()
    {
        using var env = new AwsEnvironment(new()
        {
            ["AWS_ACCESS_KEY_ID"] = "AKIAENVIRONMENT",
            ["AWS_SECRET_ACCESS_KEY"] = Secret,
            ["AWS_REGION"] = "us-east-1",
        });
        var front = new SaslFront { ExpectedAwsRegion = "us-east-1" }.AddAwsCredentials("AKIAENVIRONMENT", Secret, principal: "arn:aws:iam::123456789012:user/env").AddPlainUser("reader", "r");
        await using var bed = SaslBed.Start(front, brokers: 2, tls: true);

        // The properties Amazon MSK documents for Java clients, unchanged (plus the test CA, as TLS needs it here).
        var properties = bed.Properties(
            ("sasl.mechanism", "AWS_MSK_IAM"),
            ("sasl.jaas.config", $"{IamModule} required;"),
            ("sasl.client.callback.handler.class", IamHandler));
        Assert.Equal("SASL_SSL", properties["security.protocol"]);
        await using var producer = new ProducerBuilder<string, string>(properties).Build();

        var acknowledged = await bed.ProduceAsync(producer, 50);

        bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
        Assert.True(front.Principals.ContainsKey("arn:aws:iam::123456789012:user/env"));
        Assert.False(front.LastAwsMskIamMessage!.ContainsKey("x-amz-security-token"));
        Assert.Empty(front.Violations);
        Assert.Equal(0, front.FailedAuthentications);
    }

    [Fact]
    public async Task AProfileFileWithASessionTokenNamedInTheJaasConfig()
    {
        var dir = Directory.CreateTempSubdirectory("samsa-msk-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "credentials"), $"[default]\naws_access_key_id = AKIAWRONGPROFILE\naws_secret_access_key = nope\n\n[kafka]\naws_access_key_id = ASIAPROFILE\naws_secret_access_key = {Secret}\naws_session_token = {SessionToken}\n");
            File.WriteAllText(Path.Combine(dir, "config"), "[profile kafka]\nregion = eu-west-1\n");
            using var env = new AwsEnvironment(new()
            {
                ["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(dir, "credentials"),
                ["AWS_CONFIG_FILE"] = Path.Combine(dir, "config"),
            });
            var front = new SaslFront { ExpectedAwsRegion = "eu-west-1" }.AddAwsCredentials("ASIAPROFILE", Secret, SessionToken).AddPlainUser("reader", "r");
            await using var bed = SaslBed.Start(front);
            var properties = bed.Properties(
                ("sasl.mechanism", "AWS_MSK_IAM"),
                ("sasl.jaas.config", $"{IamModule} required awsProfileName=\"kafka\";"),
                ("sasl.client.callback.handler.class", IamHandler));
            await using var producer = new ProducerBuilder<string, string>(properties).Build();

            var acknowledged = await bed.ProduceAsync(producer, 30);

            bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
            Assert.Equal(SessionToken, front.LastAwsMskIamMessage!["x-amz-security-token"]);
            Assert.Contains("/eu-west-1/kafka-cluster/", front.LastAwsMskIamMessage["x-amz-credential"], StringComparison.Ordinal);
            Assert.True(front.Principals.ContainsKey("arn:aws:iam::123456789012:user/ASIAPROFILE"));
            Assert.Equal(0, front.FailedAuthentications);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task ACredentialsProviderIsAskedAtEveryAuthenticationAndReauthentication()
    {
        using var env = new AwsEnvironment([]);
        var front = new SaslFront { SessionLifetime = TimeSpan.FromSeconds(1), ExpiryGrace = TimeSpan.FromSeconds(1) }
            .AddAwsCredentials("ASIAPROVIDED", Secret, SessionToken)
            .AddPlainUser("reader", "r");
        await using var bed = SaslBed.Start(front, brokers: 2);
        var calls = 0;
        var log = new CapturingLogger();
        await using var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = SaslMechanism.AwsMskIam, AwsRegion = "ap-south-1" }))
            .SetAwsCredentialsProvider(_ =>
            {
                Interlocked.Increment(ref calls);
                return ValueTask.FromResult(new AwsCredentials("ASIAPROVIDED", Secret, SessionToken) { Expiration = DateTimeOffset.UtcNow.AddHours(1) });
            })
            .SetLogger(log)
            .Build();

        var acknowledged = new List<(string Key, string Value, DeliveryResult Result)>();
        var until = DateTime.UtcNow + Bound;
        for (var round = 0; front.Reauthentications < 2 && DateTime.UtcNow < until; round++)
        {
            acknowledged.AddRange(await bed.ProduceAsync(producer, 5, $"p{round}"));
            await Task.Delay(100);
        }

        Assert.True(front.Reauthentications >= 2, $"{front.Reauthentications} re-authentications");
        Assert.True(Volatile.Read(ref calls) >= front.Authentications + front.Reauthentications);
        Assert.Equal(0, front.ExpiredSessionClosures);
        Assert.Contains("/ap-south-1/", front.LastAwsMskIamMessage!["x-amz-credential"], StringComparison.Ordinal);
        bed.AssertReadBack(acknowledged, SaslBed.Reader("PLAIN", "reader", "r"));
        Assert.DoesNotContain(log.Lines, l => l.Contains(Secret, StringComparison.Ordinal) || l.Contains(SessionToken, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AWrongSecretFailsFastAndForGoodWithoutShowingTheSecret()
    {
        const string WrongSecret = "wrong-Secret-Access-Key-1234";
        const string WrongToken = "wrong-Session-Token-5678";
        using var env = new AwsEnvironment(new()
        {
            ["AWS_ACCESS_KEY_ID"] = "ASIAWRONG",
            ["AWS_SECRET_ACCESS_KEY"] = WrongSecret,
            ["AWS_SESSION_TOKEN"] = WrongToken,
            ["AWS_DEFAULT_REGION"] = "us-east-2",
        });
        await using var bed = SaslBed.Start(new SaslFront().AddAwsCredentials("ASIAWRONG", Secret, WrongToken));
        var log = new CapturingLogger();
        var options = bed.Options(new SaslOptions { Mechanism = SaslMechanism.AwsMskIam, JaasConfig = $"{IamModule} required;" });
        var producer = new ProducerBuilder<string, string>(options).SetLogger(log).Build();

        // delivery.timeout.ms and max.block.ms are ten minutes: only the refusal can end this within the bound.
        var first = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(Bound));
        Assert.True(first.IsFatal);
        Assert.Equal(ErrorCode.SaslAuthenticationFailed, first.ErrorCode);
        Assert.Contains("AWS_MSK_IAM", first.Message, StringComparison.Ordinal);
        Assert.Contains("signature we calculated does not match", first.Message, StringComparison.Ordinal);
        Assert.Same(first, await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v2")).AsTask().WaitAsync(Bound)));
        await producer.DisposeAsync();

        Assert.InRange(bed.Front.FailedAuthentications, 1, 3);
        var everything = log.Lines.Append(first.ToString()).Append(options.ToString()).ToList();
        Assert.NotEmpty(log.Lines);
        foreach (var secret in new[] { WrongSecret, WrongToken, Secret })
        {
            Assert.DoesNotContain(everything, line => line.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task AnUnknownAccessKeyAndMissingCredentialsAreAuthenticationFailures()
    {
        using var env = new AwsEnvironment(new() { ["AWS_ACCESS_KEY_ID"] = "AKIAUNKNOWN", ["AWS_SECRET_ACCESS_KEY"] = Secret, ["AWS_REGION"] = "us-east-1" });
        await using var bed = SaslBed.Start(new SaslFront().AddAwsCredentials("AKIAKNOWN", Secret), brokers: 1);
        await using (var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = SaslMechanism.AwsMskIam })).Build())
        {
            var e = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(Bound));
            Assert.Contains("unknown access key", e.Message, StringComparison.Ordinal);
        }

        // No credentials anywhere: refused before anything is sent, saying where credentials come from.
        using var none = new AwsEnvironment(new() { ["AWS_REGION"] = "us-east-1", ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent/credentials", ["AWS_CONFIG_FILE"] = "/nonexistent/config" });
        await using (var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = SaslMechanism.AwsMskIam })).Build())
        {
            var e = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(Bound));
            Assert.Contains("found no AWS credentials", e.Message, StringComparison.Ordinal);
            Assert.Contains("SetAwsCredentialsProvider", e.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(16, "Signature expired")]
    [InlineData(-6, "Signature not yet current")]
    public async Task ASignatureOutsideItsTimeIsRefused(int brokerClockAheadMinutes, string why)
    {
        using var env = new AwsEnvironment([]);
        var front = new SaslFront { AwsClockOffset = TimeSpan.FromMinutes(brokerClockAheadMinutes) }.AddAwsCredentials("AKIACLOCK", Secret);
        await using var bed = SaslBed.Start(front, brokers: 1);
        await using var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = SaslMechanism.AwsMskIam, AwsRegion = "us-east-1" }))
            .SetAwsCredentialsProvider(_ => ValueTask.FromResult(new AwsCredentials("AKIACLOCK", Secret)))
            .Build();

        var e = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(Bound));
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASignatureForAnotherRegionIsRefused()
    {
        using var env = new AwsEnvironment([]);
        var front = new SaslFront { ExpectedAwsRegion = "us-east-1" }.AddAwsCredentials("AKIAREGION", Secret);
        await using var bed = SaslBed.Start(front, brokers: 1);
        await using var producer = new ProducerBuilder<string, string>(bed.Options(new SaslOptions { Mechanism = SaslMechanism.AwsMskIam, AwsRegion = "us-west-2" }))
            .SetAwsCredentialsProvider(_ => ValueTask.FromResult(new AwsCredentials("AKIAREGION", Secret)))
            .Build();

        var e = await Assert.ThrowsAsync<KafkaAuthenticationException>(() => producer.ProduceAsync(new ProducerRecord<string, string>(bed.Topic, "k", "v")).AsTask().WaitAsync(Bound));
        Assert.Contains("us-west-2", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Sets the AWS_* variables to exactly the given ones for the test, and puts the old values back after.</summary>
    private sealed class AwsEnvironment : IDisposable
    {
        private readonly Dictionary<string, string?> _saved = s_awsVariables.ToDictionary(v => v, Environment.GetEnvironmentVariable);

        public AwsEnvironment(Dictionary<string, string> values)
        {
            foreach (var name in s_awsVariables)
            {
                Environment.SetEnvironmentVariable(name, values.GetValueOrDefault(name));
            }

            // A developer's own ~/.aws must not answer for the test.
            if (!values.ContainsKey("AWS_SHARED_CREDENTIALS_FILE"))
            {
                Environment.SetEnvironmentVariable("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials");
                Environment.SetEnvironmentVariable("AWS_CONFIG_FILE", "/nonexistent/config");
            }
        }

        public void Dispose()
        {
            foreach (var (name, value) in _saved)
            {
                Environment.SetEnvironmentVariable(name, value);
            }
        }
    }

    /// <summary>Every entry at every level, with its exception's full text.</summary>
    private sealed class CapturingLogger : ILogger
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            _lines.Enqueue($"{logLevel} {eventId.Id}: {formatter(state, exception)} {exception}");
    }
}
