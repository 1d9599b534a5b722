namespace Samsa.Tests.Config;

/// <summary>
/// librdkafka's key names, as a Confluent.Kafka configuration carries them: aliases where the meaning is
/// the Java key's, a refusal naming what to use otherwise.
/// </summary>
public sealed class LibrdkafkaKeyTests
{
    private static ProducerOptions Parse(params (string Key, string Value)[] settings) =>
        ProducerConfigParser.Parse([new("bootstrap.servers", "b:9092"), .. settings.Select(s => new KeyValuePair<string, string>(s.Key, s.Value))]);

    [Fact]
    public void AliasesSetTheJavaKeysTheyMean()
    {
        var o = Parse(
            ("queue.buffering.max.ms", "25"),
            ("request.required.acks", "1"),
            ("compression.codec", "zstd"),
            ("message.timeout.ms", "60000"),
            ("message.send.max.retries", "7"),
            ("message.max.bytes", "2000000"),
            ("queue.buffering.max.kbytes", "2048"),
            ("max.in.flight", "3"),
            ("socket.send.buffer.bytes", "0"),
            ("enable.idempotence", "false"));

        Assert.Equal(TimeSpan.FromMilliseconds(25), o.Linger);
        Assert.Equal(Acks.Leader, o.Acks);
        Assert.Equal(CompressionType.Zstd, o.CompressionType);
        Assert.Equal(TimeSpan.FromMinutes(1), o.DeliveryTimeout);
        Assert.Equal(7, o.Retries);
        Assert.Equal(2_000_000, o.MaxRequestSize);
        Assert.Equal(2048L * 1024, o.BufferMemory);
        Assert.Equal(3, o.MaxInFlightRequestsPerConnection);
        Assert.Equal(-1, o.SendBufferBytes); // librdkafka's 0 is the system default, Java's -1
        o.Validate();
    }

    [Fact]
    public void MetadataBrokerListIsBootstrapServers()
    {
        var o = ProducerConfigParser.Parse([new("metadata.broker.list", "a:9092,b:9092")]);
        Assert.Equal(["a:9092", "b:9092"], o.BootstrapServers);
    }

    [Fact]
    public void SaslMechanismsIsSaslMechanism()
    {
        var o = ProducerConfigParser.Parse(
        [
            new("bootstrap.servers", "b:9093"),
            new("security.protocol", "SASL_SSL"),
            new("sasl.mechanisms", "PLAIN"),
            new("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";"),
        ]);
        Assert.Equal(SaslMechanism.Plain, o.Sasl!.Mechanism);
    }

    [Theory]
    [InlineData("queue.buffering.max.messages", "100000", "buffer.memory")]
    [InlineData("batch.num.messages", "10000", "batch.size")]
    [InlineData("debug", "broker,topic,msg", "ILogger")]
    [InlineData("statistics.interval.ms", "5000", "GetHealth")]
    [InlineData("socket.timeout.ms", "60000", "request.timeout.ms")]
    [InlineData("enable.gapless.guarantee", "true", "fails alone")]
    [InlineData("topic.metadata.refresh.interval.ms", "300000", "metadata.max.age.ms")]
    [InlineData("ssl.ca.location", "/etc/ca.pem", "ssl.truststore.location")]
    [InlineData("sasl.username", "alice", "sasl.jaas.config")]
    public void KeysWithoutAnEquivalentAreRefusedNamingWhatToUse(string key, string value, string named)
    {
        var error = Assert.Throws<ConfigException>(() => Parse((key, value)));
        Assert.Equal(key, error.Key);
        Assert.Contains("librdkafka", error.Message, StringComparison.Ordinal);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASecretInARefusedKeyIsNotEchoed()
    {
        var error = Assert.Throws<ConfigException>(() => Parse(("sasl.password", "hunter2")));
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Value ?? "", StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void AnAliasAndItsJavaKeyWithDifferentValuesConflict()
    {
        var error = Assert.Throws<ConfigException>(() => Parse(("linger.ms", "5"), ("queue.buffering.max.ms", "50")));
        Assert.Contains("linger.ms", error.Message, StringComparison.Ordinal);
        Assert.Contains("queue.buffering.max.ms", error.Message, StringComparison.Ordinal);

        // The same value twice is no conflict.
        Assert.Equal(TimeSpan.FromMilliseconds(5), Parse(("linger.ms", "5"), ("queue.buffering.max.ms", "5")).Linger);
    }

    [Fact]
    public void MessageTimeoutZeroMeansForeverInLibrdkafkaAndIsRefused()
    {
        var error = Assert.Throws<ConfigException>(() => Parse(("message.timeout.ms", "0")));
        Assert.Contains("delivery.timeout.ms=2147483647", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABadAliasValueIsReportedAgainstTheJavaKey()
    {
        var error = Assert.Throws<ConfigException>(() => Parse(("compression.codec", "brotli")));
        Assert.Equal("compression.type", error.Key);
        Assert.Contains("brotli", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EveryAliasTargetsAKeySamsaKnows()
    {
        foreach (var (alias, java) in LibrdkafkaConfigKeys.Aliases)
        {
            Assert.Contains(java, ProducerConfigKeys.All);
            Assert.DoesNotContain(alias, ProducerConfigKeys.All);
        }
    }
}
