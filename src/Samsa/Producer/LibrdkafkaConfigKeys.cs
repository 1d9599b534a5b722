using System.Globalization;

namespace Samsa;

/// <summary>
/// librdkafka's names for producer settings, as Confluent.Kafka users write them (<c>ProducerConfig</c> is a
/// dictionary of them). A key whose meaning is the same as a Java key's is taken as that key (its value
/// converted where the unit differs); a key with no equivalent is refused with a message naming the Java key
/// to use, or saying why there is none. Errors about a value name the Java key.
/// </summary>
internal static class LibrdkafkaConfigKeys
{
    private delegate string Convert(string librdkafkaKey, string value);

    /// <summary>librdkafka key → the Java key it means, and how its value becomes the Java key's (null: as it is).</summary>
    private static readonly Dictionary<string, (string JavaKey, Convert? Value)> s_aliases = new(StringComparer.Ordinal)
    {
        ["metadata.broker.list"] = (ProducerConfigKeys.BootstrapServers, null),
        ["queue.buffering.max.ms"] = (ProducerConfigKeys.LingerMs, null),
        ["request.required.acks"] = (ProducerConfigKeys.Acks, null),
        ["compression.codec"] = (ProducerConfigKeys.CompressionType, null),
        ["message.timeout.ms"] = (ProducerConfigKeys.DeliveryTimeoutMs, MessageTimeout),
        ["message.send.max.retries"] = (ProducerConfigKeys.Retries, null),
        ["message.max.bytes"] = (ProducerConfigKeys.MaxRequestSize, null),
        ["queue.buffering.max.kbytes"] = (ProducerConfigKeys.BufferMemory, KilobytesToBytes),
        ["max.in.flight"] = (ProducerConfigKeys.MaxInFlightRequestsPerConnection, null),
        ["socket.send.buffer.bytes"] = (ProducerConfigKeys.SendBufferBytes, SystemDefaultBuffer),
        ["socket.receive.buffer.bytes"] = (ProducerConfigKeys.ReceiveBufferBytes, SystemDefaultBuffer),
        ["sasl.mechanisms"] = (SaslConfigKeys.Mechanism, null),
    };

    /// <summary>librdkafka keys with no Java equivalent of the same meaning: why, and what to use instead.</summary>
    private static readonly Dictionary<string, string> s_refused = new(StringComparer.Ordinal)
    {
        ["queue.buffering.max.messages"] = "Samsa bounds what is buffered by bytes only, as Java does: use buffer.memory",
        ["batch.num.messages"] = "Samsa bounds a batch by bytes only, as Java does: use batch.size",
        ["debug"] = "Samsa logs through Microsoft.Extensions.Logging: give the builder an ILogger (SetLogger) and enable the Debug or Trace level for the 'Samsa' categories",
        ["log_level"] = "Samsa logs through Microsoft.Extensions.Logging: set the level of the 'Samsa' categories in your logging configuration",
        ["log.connection.close"] = "Samsa logs through Microsoft.Extensions.Logging: connection closes are logged at Debug level",
        ["statistics.interval.ms"] = "Samsa has no JSON statistics callback; its state is read with IProducer.GetHealth(), and metrics go through System.Diagnostics.Metrics (OpenTelemetry, dotnet-counters)",
        ["socket.timeout.ms"] = "librdkafka's default timeout for any request has no Java equivalent; Produce and Metadata requests are bounded by request.timeout.ms",
        ["enable.gapless.guarantee"] = "Samsa follows the Java client: a batch that fails for good fails alone and the records behind it go on, with every failure reported; there is no mode that stops the producer at the first gap (stop producing in your delivery handler if you need one)",
        ["queue.buffering.backpressure.threshold"] = "Samsa sends whenever a batch is due; there is no equivalent",
        ["sticky.partitioning.linger.ms"] = "keyless records stick to a partition until batch.size bytes went to it (KIP-794), as in Java; see partitioner.adaptive.partitioning.enable",
        ["topic.metadata.refresh.interval.ms"] = "use metadata.max.age.ms (the Java key: how old metadata may get before it is refreshed)",
        ["message.copy.max.bytes"] = "Samsa always copies a record's bytes into its batch during the produce call; there is no equivalent",
        ["socket.keepalive.enable"] = "Samsa does not set TCP keep-alive; connections.max.idle.ms closes idle connections",
        ["enable.ssl.certificate.verification"] = "Samsa always verifies the broker's certificate; give the CA with ssl.truststore.location (ssl.truststore.type=PEM)",
        ["ssl.ca.location"] = "use ssl.truststore.type=PEM and ssl.truststore.location (a PEM file of CA certificates)",
        ["ssl.certificate.location"] = "use ssl.keystore.type=PEM and ssl.keystore.location (one PEM file holding the certificate chain and the PKCS#8 key)",
        ["ssl.key.location"] = "use ssl.keystore.type=PEM and ssl.keystore.location (one PEM file holding the certificate chain and the PKCS#8 key)",
        ["sasl.username"] = "use sasl.jaas.config (PlainLoginModule or ScramLoginModule with username and password), or SaslOptions.Username in code",
        ["sasl.password"] = "use sasl.jaas.config (PlainLoginModule or ScramLoginModule with username and password), or SaslOptions.Password in code",
        ["api.version.request"] = "Samsa always asks brokers for their API versions (Kafka 0.10+)",
        ["broker.version.fallback"] = "Samsa always asks brokers for their API versions (Kafka 0.10+)",
        ["produce.offset.report"] = "Samsa always reports each record's offset",
    };

    /// <summary>
    /// If <paramref name="key"/> is one of librdkafka's names, returns the Java key and value it stands for,
    /// or throws a <see cref="ConfigException"/> for a key with no equivalent. Returns null for any other key.
    /// </summary>
    public static (string Key, string Value)? Translate(string key, string value)
    {
        if (s_aliases.TryGetValue(key, out var alias))
        {
            return (alias.JavaKey, alias.Value is null ? value : alias.Value(key, value));
        }

        if (s_refused.TryGetValue(key, out var reason) && reason.Length > 0)
        {
            var shown = ProducerConfigParser.LooksSecret(key) ? "[hidden]" : value;
            throw new ConfigException(key, $"'{key}' is a librdkafka (Confluent.Kafka) setting that Samsa does not take: {reason}.", shown);
        }

        return null;
    }

    /// <summary>The Java key that <paramref name="key"/> sets: itself, or the Java key a librdkafka alias stands for.</summary>
    public static string JavaKeyOf(string key) => s_aliases.TryGetValue(key, out var alias) ? alias.JavaKey : key;

    /// <summary>Every librdkafka key taken as an alias, with its Java key (for documentation and tests).</summary>
    public static IEnumerable<KeyValuePair<string, string>> Aliases => s_aliases.Select(a => new KeyValuePair<string, string>(a.Key, a.Value.JavaKey));

    /// <summary>Every librdkafka key refused, with the reason.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Refused => s_refused.Where(r => r.Value.Length > 0);

    // librdkafka's 0 means "no limit"; Java has no such value, and the largest it takes is int.MaxValue ms.
    private static string MessageTimeout(string key, string value) =>
        value.Trim() == "0"
            ? throw new ConfigException(
                key,
                $"'{key}=0' means no time limit in librdkafka; Samsa's delivery.timeout.ms has no such value. Set delivery.timeout.ms={int.MaxValue} (about 24 days) instead.",
                value)
            : value;

    private static string KilobytesToBytes(string key, string value) =>
        long.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var kb) && kb >= 1 && kb <= long.MaxValue / 1024
            ? (kb * 1024).ToString(CultureInfo.InvariantCulture)
            : throw ConfigException.InvalidValue(key, value, "a positive number of kilobytes (it becomes buffer.memory in bytes)");

    // librdkafka's 0 is the system default, which Java writes as -1.
    private static string SystemDefaultBuffer(string key, string value) => value.Trim() == "0" ? "-1" : value;
}
