namespace Samsa.Tests.Config;

public sealed class ProducerOptionsTests
{
    private const string Bootstrap = "bootstrap.servers";

    private static ProducerOptions Parse(params (string Key, string Value)[] settings) =>
        ProducerOptions.FromProperties(settings.Select(s => KeyValuePair.Create(s.Key, s.Value)));

    private static ProducerOptions ParseValid(params (string Key, string Value)[] settings) =>
        Parse([(Bootstrap, "localhost:9092"), .. settings]).Validate();

    private static ConfigException ParseFails(params (string Key, string Value)[] settings) =>
        Assert.Throws<ConfigException>(() => Parse(settings));

    private static ConfigException ValidateFails(params (string Key, string Value)[] settings) =>
        Assert.Throws<ConfigException>(() => Parse([(Bootstrap, "localhost:9092"), .. settings]).Validate());

    [Fact]
    public void TutorialProducerPropertiesLoad()
    {
        const string text = """
            bootstrap.servers=kafka-broker1:9092,kafka-broker2:9092
            key.serializer=org.apache.kafka.common.serialization.StringSerializer
            value.serializer=org.apache.kafka.common.serialization.StringSerializer
            acks=all
            retries=3
            retry.backoff.ms=100
            batch.size=16384
            linger.ms=1
            compression.type=snappy
            """;

        var options = ProducerOptions.FromProperties(JavaProperties.Parse(text)).Validate();

        Assert.Equal(["kafka-broker1:9092", "kafka-broker2:9092"], options.BootstrapServers);
        Assert.Equal("org.apache.kafka.common.serialization.StringSerializer", options.KeySerializer);
        Assert.Equal("org.apache.kafka.common.serialization.StringSerializer", options.ValueSerializer);
        Assert.Equal(Acks.All, options.Acks);
        Assert.Equal(3, options.Retries);
        Assert.Equal(TimeSpan.FromMilliseconds(100), options.RetryBackoff);
        Assert.Equal(16384, options.BatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(1), options.Linger);
        Assert.Equal(CompressionType.Snappy, options.CompressionType);
        Assert.True(options.EnableIdempotence);
    }

    [Fact]
    public void DefaultsAreJavas()
    {
        var d = ProducerOptions.Default;
        Assert.Empty(d.BootstrapServers);
        Assert.Equal("", d.ClientId);
        Assert.Equal(Acks.All, d.Acks);
        Assert.Equal(int.MaxValue, d.Retries);
        Assert.Equal(TimeSpan.FromMilliseconds(100), d.RetryBackoff);
        Assert.Equal(TimeSpan.FromMilliseconds(1000), d.RetryBackoffMax);
        Assert.Equal(16384, d.BatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(5), d.Linger);
        Assert.Equal(CompressionType.None, d.CompressionType);
        Assert.Null(d.CompressionLevel);
        Assert.Equal(1048576, d.MaxRequestSize);
        Assert.Equal(TimeSpan.FromMilliseconds(30000), d.RequestTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(120000), d.DeliveryTimeout);
        Assert.Equal(33554432, d.BufferMemory);
        Assert.Equal(TimeSpan.FromMilliseconds(60000), d.MaxBlock);
        Assert.True(d.EnableIdempotence);
        Assert.Equal(5, d.MaxInFlightRequestsPerConnection);
        Assert.Equal(TimeSpan.FromMilliseconds(300000), d.MetadataMaxAge);
        Assert.Equal(TimeSpan.FromMilliseconds(300000), d.MetadataMaxIdle);
        Assert.Equal(TimeSpan.FromMilliseconds(50), d.ReconnectBackoff);
        Assert.Equal(TimeSpan.FromMilliseconds(1000), d.ReconnectBackoffMax);
        Assert.Equal(TimeSpan.FromMilliseconds(10000), d.SocketConnectionSetupTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(30000), d.SocketConnectionSetupTimeoutMax);
        Assert.Equal(TimeSpan.FromMilliseconds(540000), d.ConnectionsMaxIdle);
        Assert.Equal(131072, d.SendBufferBytes);
        Assert.Equal(32768, d.ReceiveBufferBytes);
        Assert.Equal(ClientDnsLookup.UseAllDnsIps, d.ClientDnsLookup);
        Assert.Equal(PartitionerKind.Default, d.Partitioner);
        Assert.False(d.PartitionerIgnoreKeys);
        Assert.True(d.PartitionerAdaptivePartitioningEnable);
        Assert.Equal(TimeSpan.Zero, d.PartitionerAvailabilityTimeout);
        Assert.Null(d.KeySerializer);
        Assert.Null(d.ValueSerializer);
        Assert.Null(d.TransactionalId);
        Assert.Equal(SecurityProtocol.Plaintext, d.SecurityProtocol);

        // Parsing nothing but the servers gives the same record.
        string[] servers = ["h:1"];
        Assert.Equal(ProducerOptions.Default with { BootstrapServers = servers }, Parse((Bootstrap, "h:1")) with { BootstrapServers = servers });
    }

    /// <summary>A non-default value for every key; the test below checks it covers exactly the known keys.</summary>
    private static readonly Dictionary<string, string> s_sample = new()
    {
        ["bootstrap.servers"] = " a:1 , [::1]:2 ,b.example.com:3 ",
        ["client.id"] = "my-app",
        ["acks"] = "1",
        ["retries"] = "7",
        ["retry.backoff.ms"] = "11",
        ["retry.backoff.max.ms"] = "12",
        ["batch.size"] = "13",
        ["linger.ms"] = "14",
        ["compression.type"] = "zstd",
        ["compression.level"] = "3",
        ["compression.gzip.level"] = "9",
        ["compression.lz4.level"] = "17",
        ["compression.zstd.level"] = "3",
        ["max.request.size"] = "15",
        ["request.timeout.ms"] = "16",
        ["delivery.timeout.ms"] = "17000",
        ["buffer.memory"] = "18",
        ["max.block.ms"] = "19",
        ["enable.idempotence"] = "false",
        ["max.in.flight.requests.per.connection"] = "20",
        ["metadata.max.age.ms"] = "21",
        ["metadata.max.idle.ms"] = "22000",
        ["reconnect.backoff.ms"] = "23",
        ["reconnect.backoff.max.ms"] = "24",
        ["socket.connection.setup.timeout.ms"] = "25",
        ["socket.connection.setup.timeout.max.ms"] = "26",
        ["connections.max.idle.ms"] = "27",
        ["send.buffer.bytes"] = "-1",
        ["receive.buffer.bytes"] = "29",
        ["client.dns.lookup"] = "resolve_canonical_bootstrap_servers_only",
        ["partitioner"] = "consistent_random", // librdkafka's key; partitioner.class, set after it, wins
        ["partitioner.class"] = "org.apache.kafka.clients.producer.RoundRobinPartitioner",
        ["partitioner.ignore.keys"] = "TRUE",
        ["partitioner.adaptive.partitioning.enable"] = "False",
        ["partitioner.availability.timeout.ms"] = "30",
        ["key.serializer"] = "org.apache.kafka.common.serialization.LongSerializer",
        ["value.serializer"] = "bytes",
        ["transactional.id"] = "tx-1",
        ["transaction.timeout.ms"] = "60000",
        ["security.protocol"] = "plaintext",
        ["enable.metrics.push"] = "false",
        ["samsa.tracing.inject.headers"] = "false",
        ["samsa.tracing.root.spans"] = "true",
    };

    [Fact]
    public void EveryKnownKeyParses()
    {
        // The sasl.* keys need security.protocol=SASL_*: Security/SaslConfigTests.EveryKeyParsesIntoTypedOptions covers them.
        Assert.Equal(ProducerConfigKeys.All.Except(SaslConfigKeys.All).Order(), s_sample.Keys.Order());

        var o = ProducerOptions.FromProperties(s_sample);
        Assert.Equal(["a:1", "[::1]:2", "b.example.com:3"], o.BootstrapServers);
        Assert.Equal("my-app", o.ClientId);
        Assert.Equal(Acks.Leader, o.Acks);
        Assert.Equal(7, o.Retries);
        Assert.Equal(TimeSpan.FromMilliseconds(11), o.RetryBackoff);
        Assert.Equal(TimeSpan.FromMilliseconds(12), o.RetryBackoffMax);
        Assert.Equal(13, o.BatchSize);
        Assert.Equal(TimeSpan.FromMilliseconds(14), o.Linger);
        Assert.Equal(CompressionType.Zstd, o.CompressionType);
        Assert.Equal(3, o.CompressionLevel);
        Assert.Equal(15, o.MaxRequestSize);
        Assert.Equal(TimeSpan.FromMilliseconds(16), o.RequestTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(17000), o.DeliveryTimeout);
        Assert.Equal(18, o.BufferMemory);
        Assert.Equal(TimeSpan.FromMilliseconds(19), o.MaxBlock);
        Assert.False(o.EnableIdempotence);
        Assert.Equal(20, o.MaxInFlightRequestsPerConnection);
        Assert.Equal(TimeSpan.FromMilliseconds(21), o.MetadataMaxAge);
        Assert.Equal(TimeSpan.FromMilliseconds(22000), o.MetadataMaxIdle);
        Assert.Equal(TimeSpan.FromMilliseconds(23), o.ReconnectBackoff);
        Assert.Equal(TimeSpan.FromMilliseconds(24), o.ReconnectBackoffMax);
        Assert.Equal(TimeSpan.FromMilliseconds(25), o.SocketConnectionSetupTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(26), o.SocketConnectionSetupTimeoutMax);
        Assert.Equal(TimeSpan.FromMilliseconds(27), o.ConnectionsMaxIdle);
        Assert.Equal(-1, o.SendBufferBytes);
        Assert.Equal(29, o.ReceiveBufferBytes);
        Assert.Equal(ClientDnsLookup.ResolveCanonicalBootstrapServersOnly, o.ClientDnsLookup);
        Assert.Equal(PartitionerKind.RoundRobin, o.Partitioner);
        Assert.True(o.PartitionerIgnoreKeys);
        Assert.False(o.PartitionerAdaptivePartitioningEnable);
        Assert.Equal(TimeSpan.FromMilliseconds(30), o.PartitionerAvailabilityTimeout);
        Assert.Equal("org.apache.kafka.common.serialization.LongSerializer", o.KeySerializer);
        Assert.Equal("bytes", o.ValueSerializer);
        Assert.Equal("tx-1", o.TransactionalId);
        Assert.Equal(SecurityProtocol.Plaintext, o.SecurityProtocol);
        Assert.False(o.EnableMetricsPush);
        Assert.False(o.InjectTraceHeaders);
        Assert.True(o.RootSpans);

        // Everything validates once the settings that conflict with the transactional id are gone.
        Assert.Equal(TimeSpan.FromMinutes(1), o.TransactionTimeout);
        var valid = (o with { TransactionalId = null }).Validate();
        Assert.False(valid.EnableIdempotence);
    }

    [Fact]
    public void ReadmeConfigTableListsEveryKnownKey()
    {
        var path = Path.Combine(RepoRoot.Require(), "README.md");
        Assert.True(File.Exists(path), $"{path} is missing.");
        var text = File.ReadAllText(path);
        foreach (var key in ProducerConfigKeys.All)
        {
            Assert.True(text.Contains($"`{key}`", StringComparison.Ordinal), $"README.md's config table does not list `{key}`.");
        }
    }

    [Theory]
    [InlineData("linger.sm", "linger.ms")]
    [InlineData("bootstrap.server", "bootstrap.servers")]
    [InlineData("bootstrap_servers", "bootstrap.servers")]
    [InlineData("acsk", "acks")]
    [InlineData("batch.sise", "batch.size")]
    [InlineData("max.in.flight.request.per.connection", "max.in.flight.requests.per.connection")]
    public void UnknownKeySuggestsClosest(string typo, string expected)
    {
        var e = ParseFails((typo, "1"));
        Assert.Equal(typo, e.Key);
        Assert.Equal(expected, e.Suggestion);
        Assert.Equal($"Unknown producer config key '{typo}'. Did you mean '{expected}'?", e.Message);
    }

    [Fact]
    public void UnknownKeyFarFromAnythingHasNoSuggestion()
    {
        var e = ParseFails(("completely.different", "1"));
        Assert.Null(e.Suggestion);
        Assert.Equal("Unknown producer config key 'completely.different'.", e.Message);
    }

    [Fact]
    public void KeysAreCaseSensitive()
    {
        var e = ParseFails(("Linger.ms", "1"));
        Assert.Equal("linger.ms", e.Suggestion);
    }

    [Theory]
    [InlineData("interceptor.classes", "ProducerBuilder.AddInterceptor")]
    [InlineData("metric.reporters", "System.Diagnostics.Metrics")]
    [InlineData("sasl.login.class", "Java classes")]
    [InlineData("sasl.kerberos.kinit.cmd", "GSSAPI")]
    [InlineData("sasl.oauthbearer.jwks.endpoint.url", "brokers")]
    public void KnownButUnsupportedJavaKeysAreRejectedWithAReason(string key, string mention)
    {
        var e = ParseFails((key, "x"));
        Assert.StartsWith($"Producer config key '{key}' is not supported:", e.Message);
        Assert.Contains(mention, e.Message);
    }

    [Fact]
    public void ConsumerKeyIsCalledOut()
    {
        var e = ParseFails(("group.id", "g"));
        Assert.Contains("consumer config", e.Message);
    }

    [Fact]
    public void AcksInvalid()
    {
        var e = ParseFails(("acks", "fast"));
        Assert.Equal("Invalid value 'fast' for 'acks': expected 0, 1, all (or -1).", e.Message);
        Assert.Equal("acks", e.Key);
        Assert.Equal("fast", e.Value);
        Assert.Equal("0, 1, all (or -1)", e.Allowed);
        Assert.Equal("acks", ParseFails(("acks", "2")).Key);
    }

    [Theory]
    [InlineData("all", Acks.All)]
    [InlineData("ALL", Acks.All)]
    [InlineData("-1", Acks.All)]
    [InlineData("0", Acks.None)]
    [InlineData(" 1 ", Acks.Leader)]
    public void AcksValid(string value, Acks expected) => Assert.Equal(expected, Parse(("acks", value)).Acks);

    [Fact]
    public void BatchSizeNegativeFailsValidation()
    {
        var e = ValidateFails(("batch.size", "-1"));
        Assert.Equal("batch.size", e.Key);
        Assert.Equal("Invalid value '-1' for 'batch.size': expected a whole number of at least 0.", e.Message);
    }

    [Theory]
    [InlineData("linger.ms", "abc")]
    [InlineData("linger.ms", "1.5")]
    [InlineData("batch.size", "99999999999")]
    [InlineData("retries", "")]
    [InlineData("enable.idempotence", "yes")]
    [InlineData("buffer.memory", "32MB")]
    public void UnparsableFailsParsing(string key, string value)
    {
        var e = ParseFails((key, value));
        Assert.Equal(key, e.Key);
        Assert.StartsWith($"Invalid value '{value}' for '{key}': expected ", e.Message);
        Assert.EndsWith(".", e.Message);
    }

    [Fact]
    public void CompressionTypeInvalidListsAllowed()
    {
        var e = ParseFails(("compression.type", "brotli"));
        Assert.Equal("Invalid value 'brotli' for 'compression.type': expected one of none, gzip, snappy, lz4, zstd.", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" , ")]
    public void BootstrapServersEmpty(string value)
    {
        var e = Assert.Throws<ConfigException>(() => Parse((Bootstrap, value)).Validate());
        Assert.Equal(Bootstrap, e.Key);
        Assert.Contains("required", e.Message);
        Assert.Throws<ConfigException>(() => ProducerOptions.Default.Validate());
    }

    [Theory]
    [InlineData("host")]
    [InlineData("host:")]
    [InlineData(":9092")]
    [InlineData("host:70000")]
    [InlineData("host:0")]
    [InlineData("host:-1")]
    [InlineData("host:90x")]
    [InlineData("::1:9092")]
    [InlineData("[::1]")]
    [InlineData("[localhost]:9092")]
    [InlineData("bad host:9092")]
    public void BootstrapServersBadEntry(string entry)
    {
        var e = Assert.Throws<ConfigException>(() => Parse((Bootstrap, $"ok:1,{entry}")).Validate());
        Assert.Equal(Bootstrap, e.Key);
        Assert.Equal(entry, e.Value);
        Assert.Contains("host:port", e.Message);
    }

    [Theory]
    [InlineData("localhost:9092")]
    [InlineData("10.0.0.1:1")]
    [InlineData("[::1]:9092")]
    [InlineData("[fe80::1%eth0]:65535")]
    [InlineData("kafka_1.internal-net:29092")]
    public void BootstrapServersGoodEntry(string entry)
    {
        var o = Parse((Bootstrap, entry)).Validate();
        Assert.Equal([entry], o.BootstrapServers);
    }

    [Fact]
    public void IdempotenceExplicitWithAcks1Fails()
    {
        var e = ValidateFails(("enable.idempotence", "true"), ("acks", "1"));
        Assert.Equal("'enable.idempotence=true' requires 'acks=all', but 'acks' is '1'. Set acks=all or enable.idempotence=false.", e.Message);
        Assert.Equal("acks", e.Key);
    }

    [Fact]
    public void IdempotenceExplicitWithMaxInFlight6Fails()
    {
        var e = ValidateFails(("max.in.flight.requests.per.connection", "6"), ("enable.idempotence", "true"));
        Assert.Equal("max.in.flight.requests.per.connection", e.Key);
        Assert.Contains("'enable.idempotence=true'", e.Message);
        Assert.Contains("'max.in.flight.requests.per.connection'", e.Message);
    }

    [Fact]
    public void IdempotenceExplicitWithRetries0Fails()
    {
        var e = ValidateFails(("retries", "0"), ("enable.idempotence", "true"));
        Assert.Equal("retries", e.Key);
    }

    [Theory]
    [InlineData("acks", "1")]
    [InlineData("acks", "0")]
    [InlineData("retries", "0")]
    [InlineData("max.in.flight.requests.per.connection", "6")]
    public void IdempotenceDefaultedIsTurnedOffByConflicts(string key, string value)
    {
        var o = ParseValid((key, value));
        Assert.False(o.EnableIdempotence);
    }

    [Fact]
    public void IdempotenceDefaultedStaysOnWithoutConflicts()
    {
        Assert.True(ParseValid(("max.in.flight.requests.per.connection", "5")).EnableIdempotence);
    }

    [Fact]
    public void IdempotenceRulesApplyToRecordsBuiltInCode()
    {
        var servers = new[] { "h:1" };
        Assert.False((ProducerOptions.Default with { BootstrapServers = servers, Acks = Acks.Leader }).Validate().EnableIdempotence);
        Assert.Throws<ConfigException>(() => (ProducerOptions.Default with { BootstrapServers = servers, Acks = Acks.Leader, EnableIdempotence = true }).Validate());

        // Validating the effective options again gives the same options.
        var effective = (ProducerOptions.Default with { BootstrapServers = servers, Acks = Acks.None }).Validate();
        Assert.False(effective.Validate().EnableIdempotence);
    }

    [Fact]
    public void IdempotenceExplicitFalseAllowsAnything()
    {
        var o = ParseValid(("enable.idempotence", "false"), ("acks", "0"), ("max.in.flight.requests.per.connection", "50"));
        Assert.False(o.EnableIdempotence);
        Assert.Equal(50, o.MaxInFlightRequestsPerConnection);
    }

    [Fact]
    public void DeliveryTimeoutExplicitTooSmallFails()
    {
        var e = ValidateFails(("delivery.timeout.ms", "30000"), ("linger.ms", "5"), ("request.timeout.ms", "30000"));
        Assert.Equal("delivery.timeout.ms", e.Key);
        Assert.Contains("'delivery.timeout.ms'", e.Message);
        Assert.Contains("'linger.ms'", e.Message);
        Assert.Contains("'request.timeout.ms'", e.Message);
        Assert.Contains("30005", e.Message);
    }

    [Fact]
    public void DeliveryTimeoutExplicitEqualToSumIsFine()
    {
        var o = ParseValid(("delivery.timeout.ms", "30005"), ("linger.ms", "5"), ("request.timeout.ms", "30000"));
        Assert.Equal(TimeSpan.FromMilliseconds(30005), o.DeliveryTimeout);
    }

    [Fact]
    public void DeliveryTimeoutDefaultedIsRaisedAsInJava()
    {
        var o = ParseValid(("request.timeout.ms", "200000"));
        Assert.Equal(TimeSpan.FromMilliseconds(200005), o.DeliveryTimeout);
    }

    [Fact]
    public void ATransactionalIdImpliesIdempotenceEvenWhereItWouldOtherwiseGiveWay()
    {
        var o = ParseValid(("transactional.id", "tx"), ("transaction.timeout.ms", "30000"));
        Assert.True(o.EnableIdempotence);
        Assert.Equal(TimeSpan.FromSeconds(30), o.TransactionTimeout);
        Assert.Equal(TimeSpan.FromMinutes(1), ParseValid(("transactional.id", "tx")).TransactionTimeout);

        // Defaulted idempotence gives way to max.in.flight > 5; with a transactional id that is a conflict instead.
        Assert.Equal("max.in.flight.requests.per.connection", ValidateFails(("transactional.id", "tx"), ("max.in.flight.requests.per.connection", "6")).Key);
    }

    [Theory]
    [InlineData("enable.idempotence", "false", "enable.idempotence")]
    [InlineData("acks", "1", "acks")]
    [InlineData("transaction.timeout.ms", "0", "transaction.timeout.ms")]
    public void SettingsThatConflictWithATransactionalIdNameTheKey(string key, string value, string named)
    {
        var e = ValidateFails(("transactional.id", "tx"), (key, value));
        Assert.Equal(named, e.Key);
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("enable.idempotence", "false")]
    [InlineData("retries", "0")]
    [InlineData("max.in.flight.requests.per.connection", "6")]
    [InlineData("acks", "1")]
    public void BuildRefusesASettingThatConflictsWithATransactionalIdNamingTheKey(string key, string value)
    {
        var builder = new ProducerBuilder<string, string>([KeyValuePair.Create(Bootstrap, "localhost:9092"), KeyValuePair.Create("transactional.id", "tx"), KeyValuePair.Create(key, value)]);

        var e = Assert.Throws<ConfigException>(() => builder.Build());
        Assert.Equal(key, e.Key);
        Assert.Equal(value, e.Value);
        Assert.Contains("transactional.id", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildFromTypedOptionsRefusesATransactionalIdWithoutRetries()
    {
        var builder = new ProducerBuilder<string, string>(new ProducerOptions { BootstrapServers = ["localhost:9092"], TransactionalId = "tx", Retries = 0 });

        var e = Assert.Throws<ConfigException>(() => builder.Build());
        Assert.Equal("retries", e.Key);
        Assert.Contains("remove transactional.id", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ABlankTransactionalIdIsRefused()
    {
        var e = Assert.Throws<ConfigException>(() => new ProducerOptions { BootstrapServers = ["localhost:9092"], TransactionalId = "  " }.Validate());
        Assert.Equal("transactional.id", e.Key);
    }

    [Theory]
    [InlineData("SASL_SSL")]
    [InlineData("sasl_plaintext")]
    public void SaslProtocolsWithoutAMechanismAskForOne(string value)
    {
        // Java's default mechanism is GSSAPI, which needs the brokers' Kerberos service name.
        var e = ValidateFails(("security.protocol", value));
        Assert.Equal("sasl.kerberos.service.name", e.Key);
        Assert.Contains("GSSAPI", e.Message);
        Assert.Equal("security.protocol", ParseFails(("security.protocol", "TLS")).Key);
    }

    [Fact]
    public void SaslPlaintextIsAccepted()
    {
        var o = Parse([(Bootstrap, "localhost:9092"), ("security.protocol", "sasl_plaintext"), ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"p\";")]).Validate();
        Assert.Equal(SecurityProtocol.SaslPlaintext, o.SecurityProtocol);
        Assert.Equal(SaslMechanism.Plain, o.Sasl?.Mechanism);
    }

    [Theory]
    [InlineData("SSL")]
    [InlineData("ssl")]
    [InlineData("Ssl")]
    public void SecurityProtocolSslIsCaseInsensitiveAsJava(string value) =>
        Assert.Equal(SecurityProtocol.Ssl, ParseValid(("security.protocol", value)).SecurityProtocol);

    [Theory]
    [InlineData("", PartitionerKind.Default)]
    [InlineData("default", PartitionerKind.Default)]
    [InlineData("round_robin", PartitionerKind.RoundRobin)]
    [InlineData("RoundRobin", PartitionerKind.RoundRobin)]
    [InlineData("org.apache.kafka.clients.producer.RoundRobinPartitioner", PartitionerKind.RoundRobin)]
    [InlineData("org.apache.kafka.clients.producer.internals.DefaultPartitioner", PartitionerKind.Default)]
    public void PartitionerClassAccepted(string value, PartitionerKind expected) =>
        Assert.Equal(expected, Parse(("partitioner.class", value)).Partitioner);

    [Theory]
    [InlineData("com.example.MyPartitioner", "IPartitioner")]
    [InlineData("org.apache.kafka.clients.producer.UniformStickyPartitioner", "partitioner.ignore.keys=true")]
    public void PartitionerClassRejected(string value, string mention)
    {
        var e = ParseFails(("partitioner.class", value));
        Assert.Equal("partitioner.class", e.Key);
        Assert.Contains(mention, e.Message);
    }

    [Fact]
    public void CompressionLevelPerCodecKeyAppliesToChosenCodecOnly()
    {
        var o = ParseValid(("compression.gzip.level", "5"), ("compression.zstd.level", "-5"), ("compression.type", "gzip"));
        Assert.Equal(5, o.CompressionLevel);

        Assert.Null(ParseValid(("compression.zstd.level", "10"), ("compression.type", "lz4")).CompressionLevel);
        Assert.Equal(-131072, ParseValid(("compression.type", "zstd"), ("compression.zstd.level", "-131072")).CompressionLevel);
        Assert.Equal(-1, ParseValid(("compression.type", "gzip"), ("compression.level", "-1")).CompressionLevel);
    }

    [Theory]
    [InlineData("compression.gzip.level", "10")]
    [InlineData("compression.gzip.level", "0")]
    [InlineData("compression.lz4.level", "18")]
    [InlineData("compression.zstd.level", "23")]
    public void CompressionLevelPerCodecKeyOutOfRange(string key, string value)
    {
        var e = ParseFails((key, value));
        Assert.Equal(key, e.Key);
    }

    [Theory]
    [InlineData("gzip", "10")]
    [InlineData("lz4", "0")]
    [InlineData("zstd", "-131073")]
    [InlineData("snappy", "1")]
    [InlineData("none", "1")]
    public void CompressionLevelGenericCheckedAgainstCodec(string codec, string level)
    {
        var e = ValidateFails(("compression.type", codec), ("compression.level", level));
        Assert.Equal("compression.level", e.Key);
    }

    [Fact]
    public void CompressionLevelConflict()
    {
        var e = ParseFails(("compression.type", "zstd"), ("compression.level", "4"), ("compression.zstd.level", "5"));
        Assert.Equal("compression.level", e.Key);
    }

    [Fact]
    public void BooleansAreCaseInsensitive()
    {
        Assert.True(Parse(("partitioner.ignore.keys", "True")).PartitionerIgnoreKeys);
        Assert.False(Parse(("enable.idempotence", "FALSE")).EnableIdempotence);
    }

    [Fact]
    public void LastDuplicateWins()
    {
        var o = ProducerOptions.FromProperties([KeyValuePair.Create("linger.ms", "1"), KeyValuePair.Create("linger.ms", "2")]);
        Assert.Equal(TimeSpan.FromMilliseconds(2), o.Linger);
    }

    [Fact]
    public void JavaLongMaxValueMeansForever()
    {
        var o = ParseValid(("max.block.ms", long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(TimeSpan.MaxValue, o.MaxBlock);
    }

    [Theory]
    [InlineData("request.timeout.ms", "-1")]
    [InlineData("max.in.flight.requests.per.connection", "0")]
    [InlineData("metadata.max.idle.ms", "4999")]
    [InlineData("send.buffer.bytes", "-2")]
    [InlineData("retries", "-1")]
    [InlineData("linger.ms", "-1")]
    [InlineData("key.serializer", "com.example.AvroSerializer")]
    public void RangesAreCheckedByValidate(string key, string value)
    {
        var options = Parse((Bootstrap, "h:1"), (key, value)); // parses...
        var e = Assert.Throws<ConfigException>(() => options.Validate()); // ...but does not validate
        Assert.Equal(key, e.Key);
    }

    [Fact]
    public void ValueIsNullFails()
    {
        var e = Assert.Throws<ConfigException>(() => ProducerOptions.FromProperties([KeyValuePair.Create("acks", (string)null!)]));
        Assert.Equal("acks", e.Key);
    }
}
