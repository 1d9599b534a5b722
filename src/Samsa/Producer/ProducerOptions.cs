using System.Globalization;
using Samsa.Serialization;

namespace Samsa;

/// <summary>
/// The producer's settings, with the Java client's names (see each property) and defaults
/// (Kafka 4.0). Build one with an object initializer or <c>with</c> expression from
/// <see cref="Default"/>, or from Java-style string settings with <see cref="FromProperties"/>.
/// Settings are checked as a whole, once, when the producer is built.
/// </summary>
public sealed record ProducerOptions
{
    // Two settings behave differently in Java depending on whether the user set them or they
    // were defaulted (ProducerConfig looks at originals()). The init accessors record that, and
    // `with` expressions carry it along.
    private readonly TimeSpan _deliveryTimeout = TimeSpan.FromMilliseconds(120_000);
    private readonly bool _deliveryTimeoutSet;
    private readonly bool _enableIdempotence = true;
    private readonly bool _enableIdempotenceSet;

    /// <summary>The Java client's defaults; <see cref="BootstrapServers"/> is empty and must be set.</summary>
    public static ProducerOptions Default { get; } = new();

    /// <summary><c>bootstrap.servers</c>: "host:port" entries used to find the cluster (IPv6 as <c>[::1]:9092</c>). Required.</summary>
    public IReadOnlyList<string> BootstrapServers { get; init; } = [];

    /// <summary><c>client.id</c>: sent with every request; empty means the producer names itself <c>samsa-producer-N</c>.</summary>
    public string ClientId { get; init; } = "";

    /// <summary><c>acks</c> (default all).</summary>
    public Acks Acks { get; init; } = Acks.All;

    /// <summary><c>retries</c> (default <see cref="int.MaxValue"/>; <see cref="DeliveryTimeout"/> is the real bound).</summary>
    public int Retries { get; init; } = int.MaxValue;

    /// <summary><c>retry.backoff.ms</c> (default 100 ms): the first wait before retrying a failed request.</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary><c>retry.backoff.max.ms</c> (default 1000 ms): the cap of the exponential retry backoff (KIP-580).</summary>
    public TimeSpan RetryBackoffMax { get; init; } = TimeSpan.FromMilliseconds(1000);

    /// <summary><c>batch.size</c> (default 16384): the target size in bytes of one partition's batch.</summary>
    public int BatchSize { get; init; } = 16384;

    /// <summary><c>linger.ms</c> (default 5 ms since Kafka 4.0, KIP-1030): how long a batch waits for more records.</summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromMilliseconds(5);

    /// <summary><c>compression.type</c> (default none).</summary>
    public CompressionType CompressionType { get; init; } = CompressionType.None;

    /// <summary>
    /// The level for <see cref="CompressionType"/>; null means the codec's default. Ranges: gzip 1 to 9 or -1,
    /// lz4 1 to 17, zstd -131072 to 22; not allowed for none and snappy. Set from <c>compression.level</c> or
    /// from the Java keys <c>compression.gzip.level</c>, <c>compression.lz4.level</c> and
    /// <c>compression.zstd.level</c> (KIP-390), of which only the one for the chosen codec applies.
    /// </summary>
    public int? CompressionLevel { get; init; }

    /// <summary><c>max.request.size</c> (default 1048576): the largest request, and so the largest record, in bytes.</summary>
    public int MaxRequestSize { get; init; } = 1_048_576;

    /// <summary><c>request.timeout.ms</c> (default 30000 ms): how long to wait for a broker's answer.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMilliseconds(30_000);

    /// <summary>
    /// <c>delivery.timeout.ms</c> (default 120000 ms): the bound on the time from send to success or failure,
    /// retries included. Must be at least <see cref="Linger"/> + <see cref="RequestTimeout"/>; as in Java, when
    /// it was not set and the default is too small, it is raised to that sum instead of failing.
    /// </summary>
    public TimeSpan DeliveryTimeout
    {
        get => _deliveryTimeout;
        init
        {
            _deliveryTimeout = value;
            _deliveryTimeoutSet = true;
        }
    }

    /// <summary><c>buffer.memory</c> (default 33554432): bytes of records waiting to be sent before sends block.</summary>
    public long BufferMemory { get; init; } = 33_554_432;

    /// <summary><c>max.block.ms</c> (default 60000 ms): how long a send may wait for metadata or buffer space.</summary>
    public TimeSpan MaxBlock { get; init; } = TimeSpan.FromMilliseconds(60_000);

    /// <summary>
    /// <c>enable.idempotence</c> (default true). As in Java, when it was not set explicitly and
    /// <c>acks</c> is not all, <c>retries</c> is 0 or <c>max.in.flight.requests.per.connection</c> is over 5,
    /// idempotence is turned off rather than failing; the validated options show the effective value.
    /// </summary>
    public bool EnableIdempotence
    {
        get => _enableIdempotence;
        init
        {
            _enableIdempotence = value;
            _enableIdempotenceSet = true;
        }
    }

    /// <summary><c>max.in.flight.requests.per.connection</c> (default 5; at most 5 with idempotence).</summary>
    public int MaxInFlightRequestsPerConnection { get; init; } = 5;

    /// <summary><c>metadata.max.age.ms</c> (default 300000 ms): metadata is refreshed at least this often.</summary>
    public TimeSpan MetadataMaxAge { get; init; } = TimeSpan.FromMilliseconds(300_000);

    /// <summary><c>metadata.max.idle.ms</c> (default 300000 ms, at least 5000): a topic not produced to for this long is left out of metadata requests until it is used again.</summary>
    public TimeSpan MetadataMaxIdle { get; init; } = TimeSpan.FromMilliseconds(300_000);

    /// <summary><c>reconnect.backoff.ms</c> (default 50 ms): the first wait before reconnecting to a broker.</summary>
    public TimeSpan ReconnectBackoff { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary><c>reconnect.backoff.max.ms</c> (default 1000 ms): the cap of the exponential reconnect backoff.</summary>
    public TimeSpan ReconnectBackoffMax { get; init; } = TimeSpan.FromMilliseconds(1000);

    /// <summary><c>socket.connection.setup.timeout.ms</c> (default 10000 ms): the first connect timeout.</summary>
    public TimeSpan SocketConnectionSetupTimeout { get; init; } = TimeSpan.FromMilliseconds(10_000);

    /// <summary><c>socket.connection.setup.timeout.max.ms</c> (default 30000 ms): the cap of the connect timeout, which doubles (±20% jitter) with each failed attempt.</summary>
    public TimeSpan SocketConnectionSetupTimeoutMax { get; init; } = TimeSpan.FromMilliseconds(30_000);

    /// <summary><c>connections.max.idle.ms</c> (default 540000 ms): connections idle this long with no request awaiting an answer are closed; -1 ms never.</summary>
    public TimeSpan ConnectionsMaxIdle { get; init; } = TimeSpan.FromMilliseconds(540_000);

    /// <summary><c>send.buffer.bytes</c> (default 131072): the socket send buffer; -1 keeps the OS default.</summary>
    public int SendBufferBytes { get; init; } = 131_072;

    /// <summary><c>receive.buffer.bytes</c> (default 32768): the socket receive buffer; -1 keeps the OS default.</summary>
    public int ReceiveBufferBytes { get; init; } = 32_768;

    /// <summary><c>client.dns.lookup</c> (default use_all_dns_ips).</summary>
    public ClientDnsLookup ClientDnsLookup { get; init; } = ClientDnsLookup.UseAllDnsIps;

    /// <summary>
    /// <c>partitioner.class</c> (or librdkafka's <c>partitioner</c>): the built-in partitioner of KIP-794 (default),
    /// round robin, or one of librdkafka's, to keep Confluent.Kafka's placement of keys.
    /// </summary>
    public PartitionerKind Partitioner { get; init; } = PartitionerKind.Default;

    /// <summary>
    /// <c>samsa.tracing.inject.headers</c> (default true; a Samsa key, not a Java one): when a record's "send" span is
    /// sampled, its W3C trace context (<c>traceparent</c>, <c>tracestate</c>, through
    /// <see cref="System.Diagnostics.DistributedContextPropagator.Current"/>) is written into the record's headers, after
    /// the caller's own, so that consumers continue the trace. False keeps the headers exactly as given. A field the
    /// caller's headers already hold is never added twice. Records whose span is not sampled are never changed.
    /// </summary>
    public bool InjectTraceHeaders { get; init; } = true;

    /// <summary>
    /// <c>samsa.tracing.root.spans</c> (default false; a Samsa key, not a Java one): whether a record produced with no
    /// current <see cref="System.Diagnostics.Activity"/> is offered to the tracer, so that a sampled one starts a trace
    /// of its own. By default only records produced under a caller's activity (a request, a consumed message) get a
    /// span, and the others cost nothing even while a tracer listens on the <c>Samsa</c> source: the OpenTelemetry SDK
    /// answers every root it does not sample with an <c>Activity</c> kept only to propagate its trace id, about 500
    /// bytes per record that Samsa would discard, and a producer sending a million records a second with no ambient
    /// trace rarely wants a trace per record. True traces those records too, each as the root of its own trace.
    /// </summary>
    public bool RootSpans { get; init; }

    /// <summary>
    /// <c>enable.metrics.push</c> (default true, as Java): when a broker subscribes to client metrics (KIP-714), the
    /// requested ones are pushed to it at the interval it asks for. Nothing is gathered or sent while no broker asks.
    /// </summary>
    public bool EnableMetricsPush { get; init; } = true;

    /// <summary><c>partitioner.ignore.keys</c> (default false): when true, keyed records are spread like keyless ones.</summary>
    public bool PartitionerIgnoreKeys { get; init; }

    /// <summary>
    /// <c>partitioner.adaptive.partitioning.enable</c> (default true): when the sticky partition of keyless records
    /// moves on, partitions with shorter queues are more likely to be chosen (KIP-794); when false, the choice is
    /// uniform among partitions that have a leader.
    /// </summary>
    public bool PartitionerAdaptivePartitioningEnable { get; init; } = true;

    /// <summary>
    /// <c>partitioner.availability.timeout.ms</c> (default 0, off): with adaptive partitioning, a partition whose leader
    /// has left a ready batch untaken for longer than this receives no new keyless records.
    /// </summary>
    public TimeSpan PartitionerAvailabilityTimeout { get; init; } = TimeSpan.Zero;

    /// <summary><c>key.serializer</c>: a Java serializer class name or a short name (string, bytes, int, long, double, uuid, null); null means the default for the key type.</summary>
    public string? KeySerializer { get; init; }

    /// <summary><c>value.serializer</c>: as <see cref="KeySerializer"/>, for values.</summary>
    public string? ValueSerializer { get; init; }

    /// <summary>
    /// <c>transactional.id</c> (default none): makes the producer transactional (see <see cref="IProducer{TKey, TValue}.InitTransactionsAsync"/>).
    /// It names the producer across restarts: a new producer with the same id fences the old one. It implies idempotence.
    /// </summary>
    public string? TransactionalId { get; init; }

    /// <summary>
    /// <c>transaction.timeout.ms</c> (default 60000): how long the transaction coordinator lets a transaction stay open
    /// before it aborts it. It must not exceed the broker's <c>transaction.max.timeout.ms</c> (15 minutes by default).
    /// </summary>
    public TimeSpan TransactionTimeout { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary><c>security.protocol</c> (default PLAINTEXT): <c>SSL</c> connects over TLS (see <see cref="Tls"/>), <c>SASL_PLAINTEXT</c>
    /// authenticates with SASL (see <see cref="Sasl"/>), <c>SASL_SSL</c> does both.</summary>
    public SecurityProtocol SecurityProtocol { get; init; } = SecurityProtocol.Plaintext;

    /// <summary>The <c>ssl.*</c> settings, used with <c>security.protocol</c> SSL (or SASL_SSL); setting any with PLAINTEXT is an error.</summary>
    public TlsOptions Tls { get; init; } = TlsOptions.Default;

    /// <summary>SASL authentication (<c>sasl.*</c>), for <see cref="SecurityProtocol"/> SASL_PLAINTEXT or SASL_SSL; null: none set.</summary>
    public SaslOptions? Sasl { get; init; }

    /// <summary>
    /// Parses Java-style string settings (for example from <see cref="JavaProperties.Parse"/>) into options.
    /// Throws <see cref="ConfigException"/> for an unknown key or a value that does not parse; the remaining
    /// checks (ranges, cross-key rules) happen when the producer is built. Keys are case-sensitive; when a
    /// key appears more than once, the last value wins.
    /// </summary>
    public static ProducerOptions FromProperties(IEnumerable<KeyValuePair<string, string>> properties) =>
        ProducerConfigParser.Parse(properties);

    internal bool DeliveryTimeoutWasSet => _deliveryTimeoutSet;

    internal bool EnableIdempotenceWasSet => _enableIdempotenceSet;

    /// <summary>
    /// Checks every setting and every rule between settings, and returns the effective options
    /// (idempotence turned off or the delivery timeout raised where Java would do so). This is the
    /// one place where options are validated; the builder calls it at Build(), and hosts call it
    /// to fail at startup with the same messages.
    /// </summary>
    /// <exception cref="ConfigException">A setting is out of range or conflicts with another; the message names the key.</exception>
    public ProducerOptions Validate()
    {
        var effective = this;

        ValidateBootstrapServers(BootstrapServers);
        if (ClientId is null)
        {
            throw ConfigException.InvalidValue(ProducerConfigKeys.ClientId, null, "a string (empty for an automatic name)");
        }

        if (!Enum.IsDefined(Acks))
        {
            throw ConfigException.InvalidValue(ProducerConfigKeys.Acks, ((short)Acks).ToString(CultureInfo.InvariantCulture), "0, 1, all (or -1)");
        }

        AtLeast(ProducerConfigKeys.Retries, Retries, 0);
        AtLeast(ProducerConfigKeys.RetryBackoffMs, RetryBackoff, 0);
        AtLeast(ProducerConfigKeys.RetryBackoffMaxMs, RetryBackoffMax, 0);
        AtLeast(ProducerConfigKeys.BatchSize, BatchSize, 0);
        AtLeast(ProducerConfigKeys.LingerMs, Linger, 0);
        if (!Enum.IsDefined(CompressionType))
        {
            throw ConfigException.InvalidValue(ProducerConfigKeys.CompressionType, ((int)CompressionType).ToString(CultureInfo.InvariantCulture), ProducerConfigParser.CompressionTypes);
        }

        if (CompressionLevel is { } level)
        {
            CheckCompressionLevel(CompressionType, level, ProducerConfigKeys.CompressionLevel);
        }

        AtLeast(ProducerConfigKeys.MaxRequestSize, MaxRequestSize, 0);
        AtLeastIntMs(ProducerConfigKeys.RequestTimeoutMs, RequestTimeout);
        AtLeastIntMs(ProducerConfigKeys.DeliveryTimeoutMs, DeliveryTimeout);
        AtLeast(ProducerConfigKeys.BufferMemory, BufferMemory, 0);
        AtLeast(ProducerConfigKeys.MaxBlockMs, MaxBlock, 0);
        AtLeast(ProducerConfigKeys.MaxInFlightRequestsPerConnection, MaxInFlightRequestsPerConnection, 1);
        AtLeast(ProducerConfigKeys.MetadataMaxAgeMs, MetadataMaxAge, 0);
        AtLeast(ProducerConfigKeys.MetadataMaxIdleMs, MetadataMaxIdle, 5000);
        AtLeast(ProducerConfigKeys.ReconnectBackoffMs, ReconnectBackoff, 0);
        AtLeast(ProducerConfigKeys.ReconnectBackoffMaxMs, ReconnectBackoffMax, 0);
        AtLeast(ProducerConfigKeys.SocketConnectionSetupTimeoutMs, SocketConnectionSetupTimeout, 0);
        AtLeast(ProducerConfigKeys.SocketConnectionSetupTimeoutMaxMs, SocketConnectionSetupTimeoutMax, 0);
        AtLeast(ProducerConfigKeys.ConnectionsMaxIdleMs, ConnectionsMaxIdle, -1);
        AtLeast(ProducerConfigKeys.SendBufferBytes, SendBufferBytes, -1);
        AtLeast(ProducerConfigKeys.ReceiveBufferBytes, ReceiveBufferBytes, -1);
        if (!Enum.IsDefined(ClientDnsLookup))
        {
            throw ConfigException.InvalidValue(ProducerConfigKeys.ClientDnsLookup, ((int)ClientDnsLookup).ToString(CultureInfo.InvariantCulture), ProducerConfigParser.DnsLookups);
        }

        if (!Enum.IsDefined(Partitioner))
        {
            throw ConfigException.InvalidValue(ProducerConfigKeys.PartitionerClass, ((int)Partitioner).ToString(CultureInfo.InvariantCulture), ProducerConfigParser.Partitioners);
        }

        AtLeast(ProducerConfigKeys.PartitionerAvailabilityTimeoutMs, PartitionerAvailabilityTimeout, 0);
        SerializerResolver.CheckKnownName(KeySerializer, ProducerConfigKeys.KeySerializer);
        SerializerResolver.CheckKnownName(ValueSerializer, ProducerConfigKeys.ValueSerializer);

        AtLeast(ProducerConfigKeys.TransactionTimeoutMs, TransactionTimeout, 1);
        if (TransactionalId is not null)
        {
            ValidateTransactional();
        }

        ValidateSecurity();

        // delivery.timeout.ms >= linger.ms + request.timeout.ms (Java's KafkaProducer.configureDeliveryTimeout):
        // an explicit value that is too small fails; a defaulted one is raised to the sum.
        var lingerPlusRequest = Ms(Linger) + Ms(RequestTimeout);
        if (Ms(DeliveryTimeout) < lingerPlusRequest)
        {
            if (_deliveryTimeoutSet)
            {
                throw new ConfigException(
                    ProducerConfigKeys.DeliveryTimeoutMs,
                    $"'{ProducerConfigKeys.DeliveryTimeoutMs}' ({Ms(DeliveryTimeout)}) must be at least '{ProducerConfigKeys.LingerMs}' + '{ProducerConfigKeys.RequestTimeoutMs}' ({Ms(Linger)} + {Ms(RequestTimeout)} = {lingerPlusRequest}). Raise {ProducerConfigKeys.DeliveryTimeoutMs} or lower {ProducerConfigKeys.LingerMs} or {ProducerConfigKeys.RequestTimeoutMs}.",
                    MsText(DeliveryTimeout),
                    $"at least {lingerPlusRequest}");
            }

            effective = effective with { DeliveryTimeout = TimeSpan.FromMilliseconds(lingerPlusRequest) };
        }

        effective = ApplyIdempotenceRules(effective);
        return effective;
    }

    // A transactional producer is idempotent by definition (Java: "Cannot set a transactional.id without also
    // enabling idempotence"); settings that would turn idempotence off are conflicts, not silently overridden.
    private void ValidateTransactional()
    {
        const string Txn = ProducerConfigKeys.TransactionalId;
        if (TransactionalId!.Trim().Length == 0)
        {
            throw new ConfigException(Txn, $"'{Txn}' is blank. Set a non-blank id, or leave it unset for a producer without transactions.", TransactionalId);
        }

        if (_enableIdempotenceSet && !EnableIdempotence)
        {
            throw new ConfigException(
                ProducerConfigKeys.EnableIdempotence,
                $"'{Txn}' is set, which requires idempotence, but '{ProducerConfigKeys.EnableIdempotence}' is false. Remove {ProducerConfigKeys.EnableIdempotence}=false, or remove {Txn}.",
                "false",
                "true");
        }

        if (Acks != Acks.All)
        {
            var acks = ProducerConfigParser.AcksName(Acks);
            throw new ConfigException(
                ProducerConfigKeys.Acks,
                $"'{Txn}' is set, which requires 'acks=all', but 'acks' is '{acks}'. Set acks=all, or remove {Txn}.",
                acks,
                "all");
        }
    }

    private void ValidateSecurity()
    {
        if (!Enum.IsDefined(SecurityProtocol))
        {
            throw ConfigException.InvalidValue(ProducerConfigKeys.SecurityProtocol, ((int)SecurityProtocol).ToString(CultureInfo.InvariantCulture), ProducerConfigParser.SecurityProtocols);
        }

        if (Tls is null)
        {
            throw new ConfigException(ProducerConfigKeys.SecurityProtocol, $"{nameof(Tls)} is null; leave it at {nameof(TlsOptions)}.{nameof(TlsOptions.Default)} when TLS is not used.");
        }

        var name = ProducerConfigParser.SecurityProtocolName(SecurityProtocol);
        if (SecurityProtocol.UsesTls())
        {
            Tls.Validate();
        }
        else if (Tls.FirstSetKey() is { } tlsKey)
        {
            // A TLS setting that does nothing would let a user believe the connection is encrypted.
            throw new ConfigException(
                tlsKey,
                $"'{tlsKey}' is set, but '{ProducerConfigKeys.SecurityProtocol}' is {name}, which does not use TLS. Set {ProducerConfigKeys.SecurityProtocol}=SSL (or SASL_SSL), or remove the ssl.* settings.");
        }

        // The SASL settings are checked as a whole (mechanism, credentials, JAAS text; sasl.* without SASL_* is an
        // error too); the engine resolves them again when it is built.
        _ = Security.Sasl.SaslSettings.Resolve(SecurityProtocol, Sasl);
    }

    /// <summary>Checks a compression level against the range of <paramref name="codec"/>, reporting it under <paramref name="key"/>.</summary>
    internal static void CheckCompressionLevel(CompressionType codec, int level, string key)
    {
        var (ok, allowed) = codec switch
        {
            CompressionType.Gzip => (level is >= 1 and <= 9 or -1, "1 to 9, or -1 for the gzip default"),
            CompressionType.Lz4 => (level is >= 1 and <= 17, "1 to 17 for lz4"),
            CompressionType.Zstd => (level is >= -131072 and <= 22, "-131072 to 22 for zstd"),
            _ => (false, "no level: compression.type " + ProducerConfigParser.CompressionTypeName(codec) + " has no levels"),
        };
        if (!ok)
        {
            throw ConfigException.InvalidValue(key, level.ToString(CultureInfo.InvariantCulture), allowed);
        }
    }

    private static ProducerOptions ApplyIdempotenceRules(ProducerOptions o)
    {
        if (!o.EnableIdempotence)
        {
            return o;
        }

        if (!o._enableIdempotenceSet && o.TransactionalId is null)
        {
            // Java (ProducerConfig.postProcessAndValidateIdempotenceConfigs): idempotence that was only
            // defaulted on gives way to settings that cannot support it.
            var conflicts = o.Acks != Acks.All || o.Retries == 0 || o.MaxInFlightRequestsPerConnection > 5;
            return conflicts ? o with { EnableIdempotence = false } : o;
        }

        // A transactional producer cannot drop idempotence, so the way out named is removing transactional.id.
        const string Idem = ProducerConfigKeys.EnableIdempotence;
        const string Txn = ProducerConfigKeys.TransactionalId;
        var (requirer, remedy) = o.TransactionalId is null
            ? ($"'{Idem}=true'", $"{Idem}=false")
            : ($"'{Txn}' (a transactional producer is idempotent)", $"remove {Txn}");
        if (o.Acks != Acks.All)
        {
            var acks = ProducerConfigParser.AcksName(o.Acks);
            throw new ConfigException(
                ProducerConfigKeys.Acks,
                $"{requirer} requires 'acks=all', but 'acks' is '{acks}'. Set acks=all or {remedy}.",
                acks,
                "all");
        }

        if (o.MaxInFlightRequestsPerConnection > 5)
        {
            const string Key = ProducerConfigKeys.MaxInFlightRequestsPerConnection;
            var value = o.MaxInFlightRequestsPerConnection.ToString(CultureInfo.InvariantCulture);
            throw new ConfigException(
                Key,
                $"{requirer} requires '{Key}' to be at most 5, but it is '{value}'. Set {Key} to 5 or less, or {remedy}.",
                value,
                "1 to 5");
        }

        if (o.Retries == 0)
        {
            throw new ConfigException(
                ProducerConfigKeys.Retries,
                $"{requirer} requires 'retries' to be more than 0, but it is '0'. Raise retries or {remedy}.",
                "0",
                "at least 1");
        }

        return o;
    }

    private static void ValidateBootstrapServers(IReadOnlyList<string>? servers)
    {
        const string Key = ProducerConfigKeys.BootstrapServers;
        if (servers is null || servers.Count == 0)
        {
            throw new ConfigException(
                Key,
                $"'{Key}' is required: give at least one broker as host:port, e.g. 'localhost:9092'.",
                "",
                "a comma-separated list of host:port");
        }

        foreach (var server in servers)
        {
            if (!TryParseHostPort(server, out _, out _))
            {
                throw new ConfigException(
                    Key,
                    $"Invalid entry '{server}' in '{Key}': expected host:port with a port from 1 to 65535 (IPv6 addresses in brackets, e.g. '[::1]:9092').",
                    server,
                    "host:port");
            }
        }
    }

    /// <summary>Splits "host:port" or "[ipv6]:port"; the port must be 1 to 65535.</summary>
    internal static bool TryParseHostPort(string? entry, out string host, out int port)
    {
        host = "";
        port = 0;
        if (string.IsNullOrWhiteSpace(entry))
        {
            return false;
        }

        entry = entry.Trim();
        ReadOnlySpan<char> hostPart;
        ReadOnlySpan<char> portPart;
        if (entry.StartsWith('['))
        {
            var close = entry.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= entry.Length || entry[close + 1] != ':')
            {
                return false;
            }

            hostPart = entry.AsSpan(1, close - 1);
            portPart = entry.AsSpan(close + 2);
            if (hostPart.IsEmpty || hostPart.IndexOf(':') < 0)
            {
                return false; // brackets are for IPv6 literals only
            }
        }
        else
        {
            var colon = entry.LastIndexOf(':');
            if (colon <= 0)
            {
                return false;
            }

            hostPart = entry.AsSpan(0, colon);
            portPart = entry.AsSpan(colon + 1);
            if (hostPart.IndexOf(':') >= 0)
            {
                return false; // a bare IPv6 address is ambiguous; it needs brackets
            }
        }

        foreach (var c in hostPart)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or ':' or '%'))
            {
                return false;
            }
        }

        foreach (var c in portPart)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        if (portPart.IsEmpty || portPart.Length > 5 || !int.TryParse(portPart, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535)
        {
            return false;
        }

        host = hostPart.ToString();
        port = p;
        return true;
    }

    private static long Ms(TimeSpan t) => (long)t.TotalMilliseconds;

    private static string MsText(TimeSpan t) => Ms(t).ToString(CultureInfo.InvariantCulture);

    private static void AtLeast(string key, long value, long min)
    {
        if (value < min)
        {
            throw ConfigException.InvalidValue(key, value.ToString(CultureInfo.InvariantCulture), $"a whole number of at least {min}");
        }
    }

    private static void AtLeast(string key, TimeSpan value, long minMs)
    {
        if (value < TimeSpan.FromMilliseconds(minMs))
        {
            throw ConfigException.InvalidValue(key, MsText(value), $"a number of milliseconds of at least {minMs}");
        }
    }

    private static void AtLeastIntMs(string key, TimeSpan value)
    {
        // These are INT settings in Java, so they top out at int.MaxValue milliseconds.
        if (value < TimeSpan.Zero || Ms(value) > int.MaxValue)
        {
            throw ConfigException.InvalidValue(key, MsText(value), $"a number of milliseconds from 0 to {int.MaxValue}");
        }
    }
}

/// <summary><c>client.dns.lookup</c>: how broker host names are resolved.</summary>
public enum ClientDnsLookup
{
    /// <summary><c>use_all_dns_ips</c> (default): try each address a name resolves to, in turn.</summary>
    UseAllDnsIps,

    /// <summary><c>resolve_canonical_bootstrap_servers_only</c>: expand each bootstrap name to its canonical names first.</summary>
    ResolveCanonicalBootstrapServersOnly,
}

/// <summary><c>security.protocol</c>: whether connections use TLS (<see cref="ProducerOptions.Tls"/>) and SASL (<see cref="ProducerOptions.Sasl"/>).</summary>
public enum SecurityProtocol
{
    /// <summary><c>PLAINTEXT</c> (default): no TLS, no authentication.</summary>
    Plaintext,

    /// <summary><c>SSL</c>: TLS, with a client certificate when a key store is configured (mTLS).</summary>
    Ssl,

    /// <summary><c>SASL_PLAINTEXT</c>: SASL authentication (<see cref="ProducerOptions.Sasl"/>) without TLS.</summary>
    SaslPlaintext,

    /// <summary><c>SASL_SSL</c>: SASL authentication over TLS.</summary>
    SaslSsl,
}
