using System.Globalization;
using Samsa.Serialization;

namespace Samsa;

/// <summary>The Java producer config keys that Samsa accepts.</summary>
internal static class ProducerConfigKeys
{
    public const string BootstrapServers = "bootstrap.servers";
    public const string ClientId = "client.id";
    public const string Acks = "acks";
    public const string Retries = "retries";
    public const string RetryBackoffMs = "retry.backoff.ms";
    public const string RetryBackoffMaxMs = "retry.backoff.max.ms";
    public const string BatchSize = "batch.size";
    public const string LingerMs = "linger.ms";
    public const string CompressionType = "compression.type";
    public const string CompressionLevel = "compression.level";
    public const string CompressionGzipLevel = "compression.gzip.level";
    public const string CompressionLz4Level = "compression.lz4.level";
    public const string CompressionZstdLevel = "compression.zstd.level";
    public const string MaxRequestSize = "max.request.size";
    public const string RequestTimeoutMs = "request.timeout.ms";
    public const string DeliveryTimeoutMs = "delivery.timeout.ms";
    public const string BufferMemory = "buffer.memory";
    public const string MaxBlockMs = "max.block.ms";
    public const string EnableIdempotence = "enable.idempotence";
    public const string MaxInFlightRequestsPerConnection = "max.in.flight.requests.per.connection";
    public const string MetadataMaxAgeMs = "metadata.max.age.ms";
    public const string MetadataMaxIdleMs = "metadata.max.idle.ms";
    public const string ReconnectBackoffMs = "reconnect.backoff.ms";
    public const string ReconnectBackoffMaxMs = "reconnect.backoff.max.ms";
    public const string SocketConnectionSetupTimeoutMs = "socket.connection.setup.timeout.ms";
    public const string SocketConnectionSetupTimeoutMaxMs = "socket.connection.setup.timeout.max.ms";
    public const string ConnectionsMaxIdleMs = "connections.max.idle.ms";
    public const string SendBufferBytes = "send.buffer.bytes";
    public const string ReceiveBufferBytes = "receive.buffer.bytes";
    public const string ClientDnsLookup = "client.dns.lookup";
    public const string PartitionerClass = "partitioner.class";

    /// <summary>librdkafka's name for the partitioner choice; takes the same values as <see cref="PartitionerClass"/>.</summary>
    public const string Partitioner = "partitioner";
    public const string PartitionerIgnoreKeys = "partitioner.ignore.keys";
    public const string PartitionerAdaptivePartitioningEnable = "partitioner.adaptive.partitioning.enable";
    public const string PartitionerAvailabilityTimeoutMs = "partitioner.availability.timeout.ms";
    public const string KeySerializer = "key.serializer";
    public const string ValueSerializer = "value.serializer";
    public const string TransactionalId = "transactional.id";
    public const string TransactionTimeoutMs = "transaction.timeout.ms";
    public const string SecurityProtocol = "security.protocol";

    /// <summary>Samsa's own key (no Java equivalent): trace context into record headers.</summary>
    public const string TracingInjectHeaders = "samsa.tracing.inject.headers";
    public const string TracingRootSpans = "samsa.tracing.root.spans";
    public const string EnableMetricsPush = "enable.metrics.push";

    /// <summary>Every key <see cref="ProducerConfigParser"/> understands, besides the TLS keys (<see cref="Security.TlsConfigKeys"/>).</summary>
    public static readonly string[] All =
    [
        BootstrapServers, ClientId, Acks, Retries, RetryBackoffMs, RetryBackoffMaxMs, BatchSize, LingerMs,
        CompressionType, CompressionLevel, CompressionGzipLevel, CompressionLz4Level, CompressionZstdLevel,
        MaxRequestSize, RequestTimeoutMs, DeliveryTimeoutMs, BufferMemory, MaxBlockMs, EnableIdempotence,
        MaxInFlightRequestsPerConnection, MetadataMaxAgeMs, MetadataMaxIdleMs, ReconnectBackoffMs,
        ReconnectBackoffMaxMs, SocketConnectionSetupTimeoutMs, SocketConnectionSetupTimeoutMaxMs,
        ConnectionsMaxIdleMs, SendBufferBytes, ReceiveBufferBytes, ClientDnsLookup, PartitionerClass,
        Partitioner, PartitionerIgnoreKeys, PartitionerAdaptivePartitioningEnable, PartitionerAvailabilityTimeoutMs,
        KeySerializer, ValueSerializer, TransactionalId, TransactionTimeoutMs, SecurityProtocol, TracingInjectHeaders, TracingRootSpans, EnableMetricsPush, .. SaslConfigKeys.All,
    ];
}

/// <summary>
/// Turns Java-style string settings into <see cref="ProducerOptions"/>. It checks only that each key is
/// known and each value parses as its type; ranges and rules between keys are checked by
/// <see cref="ProducerOptions.Validate"/>, so that there is one place for them.
/// </summary>
internal static class ProducerConfigParser
{
    internal const string CompressionTypes = "one of none, gzip, snappy, lz4, zstd";
    internal const string DnsLookups = "one of use_all_dns_ips, resolve_canonical_bootstrap_servers_only";
    internal const string Partitioners = "org.apache.kafka.clients.producer.RoundRobinPartitioner, round_robin, default, or empty for the built-in partitioner; or librdkafka's consistent_random, consistent, murmur2_random, murmur2, fnv1a_random, fnv1a, random";
    internal const string RoundRobinClass = "org.apache.kafka.clients.producer.RoundRobinPartitioner";
    internal const string SecurityProtocols = "one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL";

    // Real Java producer keys that Samsa deliberately does not take, with the reason. Accepting them
    // silently would let a user believe, say, an interceptor or TLS is in effect.
    private static readonly Dictionary<string, string> s_rejected = new(StringComparer.Ordinal)
    {
        ["interceptor.classes"] = "Java interceptor classes cannot be loaded in .NET; implement IProducerInterceptor<TKey, TValue> and add it with ProducerBuilder.AddInterceptor instead",
        ["metric.reporters"] = "Samsa reports metrics through System.Diagnostics.Metrics (meter 'Samsa'); use OpenTelemetry or dotnet-counters",
        ["metrics.num.samples"] = "Samsa reports metrics through System.Diagnostics.Metrics, which has its own aggregation",
        ["metrics.sample.window.ms"] = "Samsa reports metrics through System.Diagnostics.Metrics, which has its own aggregation",
        ["metrics.recording.level"] = "Samsa reports metrics through System.Diagnostics.Metrics; enable or filter instruments there",
        ["auto.include.jmx.reporter"] = "there is no JMX in .NET",
    };

    // Keys that belong to the Java consumer; a common slip when configs are shared.
    private static readonly HashSet<string> s_consumerKeys = new(StringComparer.Ordinal)
    {
        "group.id", "group.instance.id", "auto.offset.reset", "enable.auto.commit", "auto.commit.interval.ms",
        "key.deserializer", "value.deserializer", "fetch.min.bytes", "fetch.max.bytes", "fetch.max.wait.ms",
        "max.poll.records", "max.poll.interval.ms", "session.timeout.ms", "heartbeat.interval.ms",
        "isolation.level", "max.partition.fetch.bytes", "partition.assignment.strategy", "group.protocol",
    };

    public static ProducerOptions Parse(IEnumerable<KeyValuePair<string, string>> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);

        // Last duplicate wins, as with java.util.Properties. A librdkafka name is taken as the Java key it
        // stands for; given beside that Java key with another value, it is a conflict, not a silent choice.
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<string>();
        var aliasedFrom = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (given, givenValue) in properties)
        {
            if (given is null)
            {
                throw new ArgumentException("A config key is null.", nameof(properties));
            }

            var value = givenValue ?? throw new ConfigException(given, $"The value of '{given}' is null; give a value or leave the key out.");
            var key = given;
            if (LibrdkafkaConfigKeys.Translate(given, value) is { } java)
            {
                (key, value) = java;
            }

            if (map.TryGetValue(key, out var earlier))
            {
                var earlierName = aliasedFrom.GetValueOrDefault(key, key);
                if (earlierName != given && earlier.Trim() != value.Trim())
                {
                    var shown = LooksSecret(key) ? "[hidden]" : value;
                    throw new ConfigException(
                        given,
                        $"'{given}' and '{earlierName}' both set '{key}' ({(given == key || earlierName == key ? "one is librdkafka's name for the other" : "both are librdkafka names for it")}), to different values. Set only '{key}'.",
                        shown);
                }
            }
            else
            {
                order.Add(key);
            }

            map[key] = value;
            aliasedFrom[key] = given;
        }

        var o = new ProducerOptions();
        SaslOptions? sasl = null;
        int? gzipLevel = null, lz4Level = null, zstdLevel = null, genericLevel = null;
        foreach (var key in order)
        {
            var raw = map[key];
            // Java's ConfigDef trims values before parsing numbers, booleans and lists.
            var v = raw.Trim();
            switch (key)
            {
                case ProducerConfigKeys.BootstrapServers: o = o with { BootstrapServers = ParseList(v) }; break;
                case ProducerConfigKeys.ClientId: o = o with { ClientId = raw }; break;
                case ProducerConfigKeys.Acks: o = o with { Acks = ParseAcks(key, v) }; break;
                case ProducerConfigKeys.Retries: o = o with { Retries = ParseInt(key, v) }; break;
                case ProducerConfigKeys.RetryBackoffMs: o = o with { RetryBackoff = ParseMs(key, v) }; break;
                case ProducerConfigKeys.RetryBackoffMaxMs: o = o with { RetryBackoffMax = ParseMs(key, v) }; break;
                case ProducerConfigKeys.BatchSize: o = o with { BatchSize = ParseInt(key, v) }; break;
                case ProducerConfigKeys.LingerMs: o = o with { Linger = ParseMs(key, v) }; break;
                case ProducerConfigKeys.CompressionType: o = o with { CompressionType = ParseCompressionType(key, v) }; break;
                case ProducerConfigKeys.CompressionLevel: genericLevel = ParseInt(key, v); break;
                case ProducerConfigKeys.CompressionGzipLevel: gzipLevel = ParseLevel(key, v, CompressionType.Gzip); break;
                case ProducerConfigKeys.CompressionLz4Level: lz4Level = ParseLevel(key, v, CompressionType.Lz4); break;
                case ProducerConfigKeys.CompressionZstdLevel: zstdLevel = ParseLevel(key, v, CompressionType.Zstd); break;
                case ProducerConfigKeys.MaxRequestSize: o = o with { MaxRequestSize = ParseInt(key, v) }; break;
                case ProducerConfigKeys.RequestTimeoutMs: o = o with { RequestTimeout = ParseMs(key, v) }; break;
                case ProducerConfigKeys.DeliveryTimeoutMs: o = o with { DeliveryTimeout = ParseMs(key, v) }; break;
                case ProducerConfigKeys.BufferMemory: o = o with { BufferMemory = ParseLong(key, v) }; break;
                case ProducerConfigKeys.MaxBlockMs: o = o with { MaxBlock = ParseMs(key, v) }; break;
                case ProducerConfigKeys.EnableIdempotence: o = o with { EnableIdempotence = ParseBool(key, v) }; break;
                case ProducerConfigKeys.MaxInFlightRequestsPerConnection: o = o with { MaxInFlightRequestsPerConnection = ParseInt(key, v) }; break;
                case ProducerConfigKeys.MetadataMaxAgeMs: o = o with { MetadataMaxAge = ParseMs(key, v) }; break;
                case ProducerConfigKeys.MetadataMaxIdleMs: o = o with { MetadataMaxIdle = ParseMs(key, v) }; break;
                case ProducerConfigKeys.ReconnectBackoffMs: o = o with { ReconnectBackoff = ParseMs(key, v) }; break;
                case ProducerConfigKeys.ReconnectBackoffMaxMs: o = o with { ReconnectBackoffMax = ParseMs(key, v) }; break;
                case ProducerConfigKeys.SocketConnectionSetupTimeoutMs: o = o with { SocketConnectionSetupTimeout = ParseMs(key, v) }; break;
                case ProducerConfigKeys.SocketConnectionSetupTimeoutMaxMs: o = o with { SocketConnectionSetupTimeoutMax = ParseMs(key, v) }; break;
                case ProducerConfigKeys.ConnectionsMaxIdleMs: o = o with { ConnectionsMaxIdle = ParseMs(key, v) }; break;
                case ProducerConfigKeys.SendBufferBytes: o = o with { SendBufferBytes = ParseInt(key, v) }; break;
                case ProducerConfigKeys.ReceiveBufferBytes: o = o with { ReceiveBufferBytes = ParseInt(key, v) }; break;
                case ProducerConfigKeys.ClientDnsLookup: o = o with { ClientDnsLookup = ParseDnsLookup(key, v) }; break;
                case ProducerConfigKeys.PartitionerClass or ProducerConfigKeys.Partitioner: o = o with { Partitioner = ParsePartitioner(key, v) }; break;
                case ProducerConfigKeys.PartitionerIgnoreKeys: o = o with { PartitionerIgnoreKeys = ParseBool(key, v) }; break;
                case ProducerConfigKeys.PartitionerAdaptivePartitioningEnable: o = o with { PartitionerAdaptivePartitioningEnable = ParseBool(key, v) }; break;
                case ProducerConfigKeys.PartitionerAvailabilityTimeoutMs: o = o with { PartitionerAvailabilityTimeout = ParseMs(key, v) }; break;
                case ProducerConfigKeys.KeySerializer: o = o with { KeySerializer = v.Length == 0 ? null : v }; break;
                case ProducerConfigKeys.ValueSerializer: o = o with { ValueSerializer = v.Length == 0 ? null : v }; break;
                case ProducerConfigKeys.TransactionalId: o = o with { TransactionalId = raw.Length == 0 ? null : raw }; break;
                case ProducerConfigKeys.TransactionTimeoutMs: o = o with { TransactionTimeout = ParseMs(key, v) }; break;
                case ProducerConfigKeys.SecurityProtocol: o = o with { SecurityProtocol = ParseSecurityProtocol(key, v) }; break;
                case ProducerConfigKeys.TracingInjectHeaders: o = o with { InjectTraceHeaders = ParseBool(key, v) }; break;
                case ProducerConfigKeys.TracingRootSpans: o = o with { RootSpans = ParseBool(key, v) }; break;
                case ProducerConfigKeys.EnableMetricsPush: o = o with { EnableMetricsPush = ParseBool(key, v) }; break;
                case var _ when Security.TlsConfigParser.Handles(key): o = o with { Tls = Security.TlsConfigParser.Parse(o.Tls, key, raw) }; break;
                default:
                    if (!SaslConfigParser.TryApply(key, raw, ref sasl))
                    {
                        throw UnknownKey(key, raw);
                    }

                    break;
            }
        }

        if (sasl is not null)
        {
            o = o with { Sasl = sasl };
        }

        // KIP-390 keeps one level per codec; only the chosen codec's level matters.
        var codecLevel = o.CompressionType switch
        {
            CompressionType.Gzip => (gzipLevel, ProducerConfigKeys.CompressionGzipLevel),
            CompressionType.Lz4 => (lz4Level, ProducerConfigKeys.CompressionLz4Level),
            CompressionType.Zstd => (zstdLevel, ProducerConfigKeys.CompressionZstdLevel),
            _ => ((int?)null, ""),
        };
        if (codecLevel.Item1 is { } chosen)
        {
            if (genericLevel is { } generic && generic != chosen)
            {
                throw new ConfigException(
                    ProducerConfigKeys.CompressionLevel,
                    $"'{ProducerConfigKeys.CompressionLevel}' is {generic} but '{codecLevel.Item2}' is {chosen}. Set only one of them.",
                    generic.ToString(CultureInfo.InvariantCulture));
            }

            genericLevel = chosen;
        }

        return genericLevel is null ? o : o with { CompressionLevel = genericLevel };
    }

    internal static ConfigException UnknownKey(string key, string value)
    {
        // A misspelt password key still carries the password.
        if (LooksSecret(key) || (Suggest(key) is { } meant && LooksSecret(meant)))
        {
            value = "[hidden]";
        }

        if (s_rejected.TryGetValue(key, out var reason) || SaslConfigKeys.Rejected.TryGetValue(key, out reason))
        {
            return new ConfigException(key, $"Producer config key '{key}' is not supported: {reason}.", value);
        }

        if (s_consumerKeys.Contains(key))
        {
            return new ConfigException(key, $"Unknown producer config key '{key}': it is a consumer config, and Samsa is a producer.", value);
        }

        var suggestion = Suggest(key);
        return suggestion is null
            ? new ConfigException(key, $"Unknown producer config key '{key}'.", value)
            : new ConfigException(key, $"Unknown producer config key '{key}'. Did you mean '{suggestion}'?", value, suggestion: suggestion);
    }

    /// <summary>Keys whose values may be secrets (passwords, private keys, JAAS configs): never echoed in errors.</summary>
    internal static bool LooksSecret(string key) =>
        key.Contains("password", StringComparison.OrdinalIgnoreCase)
        || key.Contains("secret", StringComparison.OrdinalIgnoreCase)
        || key.Contains("jaas", StringComparison.OrdinalIgnoreCase)
        || key.EndsWith(".key", StringComparison.OrdinalIgnoreCase);

    /// <summary>The known key closest to <paramref name="key"/> by edit distance, if it is close enough to be a typo.</summary>
    internal static string? Suggest(string key)
    {
        // Allow about one edit per four characters, at least one and at most three.
        var threshold = Math.Clamp(key.Length / 4, 1, 3);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var known in ProducerConfigKeys.All.Concat(Security.TlsConfigKeys.All))
        {
            var d = EditDistance(key, known);
            if (d < bestDistance)
            {
                bestDistance = d;
                best = known;
            }
        }

        return bestDistance <= threshold ? best : null;
    }

    /// <summary>Damerau-Levenshtein distance (optimal string alignment): insertions, deletions, substitutions and adjacent swaps.</summary>
    internal static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var best = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    best = Math.Min(best, d[i - 2, j - 2] + 1);
                }

                d[i, j] = best;
            }
        }

        return d[a.Length, b.Length];
    }

    internal static string AcksName(Acks acks) => acks switch
    {
        Acks.All => "all",
        Acks.None => "0",
        Acks.Leader => "1",
        _ => ((short)acks).ToString(CultureInfo.InvariantCulture),
    };

    internal static string CompressionTypeName(CompressionType type) => type switch
    {
        CompressionType.None => "none",
        CompressionType.Gzip => "gzip",
        CompressionType.Snappy => "snappy",
        CompressionType.Lz4 => "lz4",
        CompressionType.Zstd => "zstd",
        _ => ((int)type).ToString(CultureInfo.InvariantCulture),
    };

    internal static string SecurityProtocolName(SecurityProtocol protocol) => protocol switch
    {
        SecurityProtocol.Plaintext => "PLAINTEXT",
        SecurityProtocol.Ssl => "SSL",
        SecurityProtocol.SaslPlaintext => "SASL_PLAINTEXT",
        SecurityProtocol.SaslSsl => "SASL_SSL",
        _ => ((int)protocol).ToString(CultureInfo.InvariantCulture),
    };

    private static List<string> ParseList(string v)
    {
        // Java splits on commas with surrounding whitespace; empty entries are skipped, as Java's
        // ClientUtils.parseAndValidateAddresses does for bootstrap.servers.
        var list = new List<string>();
        foreach (var part in v.Split(','))
        {
            var item = part.Trim();
            if (item.Length > 0)
            {
                list.Add(item);
            }
        }

        return list;
    }

    private static Acks ParseAcks(string key, string v) => v.ToLowerInvariant() switch
    {
        "all" or "-1" => Acks.All,
        "0" => Acks.None,
        "1" => Acks.Leader,
        _ => throw ConfigException.InvalidValue(key, v, "0, 1, all (or -1)"),
    };

    private static CompressionType ParseCompressionType(string key, string v) => v.ToLowerInvariant() switch
    {
        "none" => CompressionType.None,
        "gzip" => CompressionType.Gzip,
        "snappy" => CompressionType.Snappy,
        "lz4" => CompressionType.Lz4,
        "zstd" => CompressionType.Zstd,
        _ => throw ConfigException.InvalidValue(key, v, CompressionTypes),
    };

    private static ClientDnsLookup ParseDnsLookup(string key, string v) => v.ToLowerInvariant() switch
    {
        "use_all_dns_ips" => ClientDnsLookup.UseAllDnsIps,
        "resolve_canonical_bootstrap_servers_only" => ClientDnsLookup.ResolveCanonicalBootstrapServersOnly,
        _ => throw ConfigException.InvalidValue(key, v, DnsLookups),
    };

    private static PartitionerKind ParsePartitioner(string key, string v)
    {
        switch (v)
        {
            case "":
                return PartitionerKind.Default;
            case RoundRobinClass:
                return PartitionerKind.RoundRobin;
            // Removed in Kafka 4.0; it hashed keys and stuck to a partition for keyless records, as the built-in one does.
            case "org.apache.kafka.clients.producer.internals.DefaultPartitioner":
                return PartitionerKind.Default;
            case "org.apache.kafka.clients.producer.UniformStickyPartitioner":
                throw new ConfigException(
                    key,
                    $"'{key}' is UniformStickyPartitioner, which Kafka removed in 4.0. Leave '{key}' unset and set partitioner.ignore.keys=true instead.",
                    v,
                    Partitioners);
        }

        return v.ToLowerInvariant() switch
        {
            "default" => PartitionerKind.Default,
            "round_robin" or "roundrobin" => PartitionerKind.RoundRobin,

            // librdkafka's (the partitioner key of Confluent.Kafka). murmur2 is Java's placement; the non-random
            // variants differ from the random ones only for null keys, which librdkafka too sends to its sticky
            // partition, and (consistent) for empty keys.
            "consistent_random" => PartitionerKind.ConsistentRandom,
            "consistent" => PartitionerKind.Consistent,
            "murmur2_random" or "murmur2" => PartitionerKind.Default,
            "fnv1a_random" or "fnv1a" => PartitionerKind.Fnv1a,
            "random" => PartitionerKind.Random,
            _ => throw new ConfigException(
                key,
                $"Invalid value '{v}' for '{key}': expected {Partitioners}. Custom partitioner classes cannot be loaded; pass an IPartitioner to the builder instead.",
                v,
                Partitioners),
        };
    }

    private static SecurityProtocol ParseSecurityProtocol(string key, string v) => v.ToUpperInvariant() switch
    {
        // Case-insensitive, as Java's SecurityProtocol.forName. SASL is parsed here and refused by Validate,
        // so that the message about support comes from one place.
        "PLAINTEXT" => SecurityProtocol.Plaintext,
        "SSL" => SecurityProtocol.Ssl,
        "SASL_PLAINTEXT" => SecurityProtocol.SaslPlaintext,
        "SASL_SSL" => SecurityProtocol.SaslSsl,
        _ => throw ConfigException.InvalidValue(key, v, SecurityProtocols),
    };

    private static bool ParseBool(string key, string v)
    {
        if (v.Equals("true", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (v.Equals("false", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        throw ConfigException.InvalidValue(key, v, "true or false");
    }

    private static int ParseInt(string key, string v) =>
        int.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw ConfigException.InvalidValue(key, v, $"a whole number from {int.MinValue} to {int.MaxValue}");

    private static long ParseLong(string key, string v) =>
        long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw ConfigException.InvalidValue(key, v, "a whole number");

    private static int ParseLevel(string key, string v, CompressionType codec)
    {
        var level = ParseInt(key, v);
        // These keys do not survive into the options unless their codec is chosen, so their
        // range is checked here, as Java's ConfigDef validator does for each of them.
        ProducerOptions.CheckCompressionLevel(codec, level, key);
        return level;
    }

    private static TimeSpan ParseMs(string key, string v)
    {
        if (!long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var ms))
        {
            throw ConfigException.InvalidValue(key, v, "a whole number of milliseconds");
        }

        // Java users write Long.MAX_VALUE for "forever"; that is beyond TimeSpan, so clamp.
        return ms >= TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerMillisecond
            ? TimeSpan.MaxValue
            : ms <= TimeSpan.MinValue.Ticks / TimeSpan.TicksPerMillisecond
                ? TimeSpan.MinValue
                : TimeSpan.FromTicks(ms * TimeSpan.TicksPerMillisecond);
    }
}
