using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Samsa.Producer.Internal;
using Samsa.Serialization;

namespace Samsa;

/// <summary>
/// Builds a producer, the way Confluent.Kafka's <c>ProducerBuilder</c> does. Configuration is
/// checked once, in <see cref="Build"/>: an unknown key, a bad value or a conflicting pair
/// throws a <see cref="ConfigException"/> that names the key.
/// </summary>
public sealed class ProducerBuilder<TKey, TValue>
{
    private readonly ProducerOptions? _options;
    private readonly IReadOnlyList<KeyValuePair<string, string>>? _properties;
    private ISerializer<TKey>? _keySerializer;
    private ISerializer<TValue>? _valueSerializer;
    private IPartitioner? _partitioner;
    private ILogger _logger = NullLogger.Instance;
    private TimeSpan _closeTimeout = TimeSpan.FromSeconds(30);
    private Func<CancellationToken, ValueTask<OAuthBearerToken>>? _tokenProvider;

    /// <summary>From typed options.</summary>
    public ProducerBuilder(ProducerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>
    /// From Java property names and string values, e.g. <c>("linger.ms", "10")</c>, or the
    /// result of <see cref="JavaProperties.Load(string)"/> for a <c>.properties</c> file.
    /// </summary>
    public ProducerBuilder(IEnumerable<KeyValuePair<string, string>> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        _properties = [.. properties];
    }

    /// <summary>Serializes keys; without it, <c>key.serializer</c> or the built-in serializer for <typeparamref name="TKey"/> is used.</summary>
    public ProducerBuilder<TKey, TValue> SetKeySerializer(ISerializer<TKey> serializer)
    {
        _keySerializer = serializer ?? throw new ArgumentNullException(nameof(serializer));
        return this;
    }

    /// <summary>Serializes values; without it, <c>value.serializer</c> or the built-in serializer for <typeparamref name="TValue"/> is used.</summary>
    public ProducerBuilder<TKey, TValue> SetValueSerializer(ISerializer<TValue> serializer)
    {
        _valueSerializer = serializer ?? throw new ArgumentNullException(nameof(serializer));
        return this;
    }

    /// <summary>Chooses partitions for records sent without one, instead of <c>partitioner.class</c>.</summary>
    public ProducerBuilder<TKey, TValue> SetPartitioner(IPartitioner partitioner)
    {
        _partitioner = partitioner ?? throw new ArgumentNullException(nameof(partitioner));
        return this;
    }

    /// <summary>Where the producer logs: retries, failed handlers, connection trouble.</summary>
    public ProducerBuilder<TKey, TValue> SetLogger(ILogger logger)
    {
        _logger = logger ?? throw new ArgumentNullException(nameof(logger));
        return this;
    }

    /// <summary>How long disposing waits for outstanding records before failing them (default 30 s).</summary>
    public ProducerBuilder<TKey, TValue> SetCloseTimeout(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeout, TimeSpan.Zero);
        _closeTimeout = timeout;
        return this;
    }

    /// <summary>
    /// Where SASL/OAUTHBEARER tokens come from (KIP-255), instead of an OIDC token endpoint
    /// (<c>sasl.oauthbearer.token.endpoint.url</c>): called when a connection authenticates and the shared cached
    /// token is due for refresh (<c>sasl.login.refresh.window.factor</c> of its lifetime). Throw a
    /// <see cref="KafkaAuthenticationException"/> to fail the producer; any other exception makes the connection
    /// try again after the reconnect backoff. Requires <c>sasl.mechanism=OAUTHBEARER</c>.
    /// </summary>
    public ProducerBuilder<TKey, TValue> SetOAuthBearerTokenProvider(Func<CancellationToken, ValueTask<OAuthBearerToken>> provider)
    {
        _tokenProvider = provider ?? throw new ArgumentNullException(nameof(provider));
        return this;
    }

    /// <summary>Checks the configuration and creates the producer. Connections open on first use.</summary>
    public IProducer<TKey, TValue> Build()
    {
        var given = _options ?? ProducerOptions.FromProperties(_properties!);
        if (_tokenProvider is not null)
        {
            given = given with { Sasl = (given.Sasl ?? new SaslOptions()) with { OAuthBearerTokenProvider = _tokenProvider } };
        }

        var options = given.Validate();
        var keySerializer = SerializerResolver.Resolve(_keySerializer, options.KeySerializer, "key.serializer");
        var valueSerializer = SerializerResolver.Resolve(_valueSerializer, options.ValueSerializer, "value.serializer");
        var partitioner = _partitioner ?? (options.Partitioner == PartitionerKind.RoundRobin ? new RoundRobinPartitioner() : null);
        var engine = new ProducerEngine(options, _logger);
        return new KafkaProducer<TKey, TValue>(engine, keySerializer, valueSerializer, partitioner, _closeTimeout);
    }
}
