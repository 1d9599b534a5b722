using Microsoft.Extensions.Logging;
using Samsa.Diagnostics;
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
    private SamsaLoggers _loggers = SamsaLoggers.Null;
    private readonly List<IProducerInterceptor<TKey, TValue>> _interceptors = [];
    private TimeSpan _closeTimeout = TimeSpan.FromSeconds(30);
    private Func<CancellationToken, ValueTask<OAuthBearerToken>>? _tokenProvider;
    private Func<CancellationToken, ValueTask<AwsCredentials>>? _awsCredentialsProvider;

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

    /// <summary>
    /// One logger for everything the producer logs: connection trouble, metadata, retries, idempotence, security,
    /// shutdown, failed records (see <see cref="SamsaLogEvents"/> for the event ids). Replaces
    /// <see cref="SetLoggerFactory"/>'s loggers if that was called before; prefer the factory, whose categories let
    /// each area be filtered.
    /// </summary>
    public ProducerBuilder<TKey, TValue> SetLogger(ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _loggers = SamsaLoggers.From(logger);
        return this;
    }

    /// <summary>
    /// Where the producer logs, one category per area: <c>Samsa.Producer</c> (delivery, retries, idempotence,
    /// shutdown, interceptors), <c>Samsa.Network</c> (connections), <c>Samsa.Metadata</c> and <c>Samsa.Security</c>
    /// (TLS, SASL). Event ids are in <see cref="SamsaLogEvents"/>. Replaces <see cref="SetLogger"/>'s logger if that
    /// was called before. The producer does not dispose the factory.
    /// </summary>
    public ProducerBuilder<TKey, TValue> SetLoggerFactory(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _loggers = SamsaLoggers.From(loggerFactory);
        return this;
    }

    /// <summary>
    /// Adds an interceptor that sees every record before it is serialized (and may change it) and every record's
    /// outcome before its delivery handler, as the Java client's <c>interceptor.classes</c>. Several run in the order
    /// they were added; one that throws is logged and skipped, and never fails the record.
    /// </summary>
    public ProducerBuilder<TKey, TValue> AddInterceptor(IProducerInterceptor<TKey, TValue> interceptor)
    {
        ArgumentNullException.ThrowIfNull(interceptor);
        _interceptors.Add(interceptor);
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

    /// <summary>
    /// Where SASL/AWS_MSK_IAM credentials come from, instead of the environment variables and the shared AWS profile
    /// files: called at every authentication (and KIP-368 re-authentication), so it should cache as the AWS SDK's
    /// providers do. This is where instance profiles, containers, SSO or assumed roles plug in, e.g.
    /// <c>async ct =&gt; { var c = await sdkCredentials.GetCredentialsAsync(); return new AwsCredentials(c.AccessKey, c.SecretKey, c.Token); }</c>.
    /// Throw a <see cref="KafkaAuthenticationException"/> to fail the producer; any other exception makes the connection
    /// try again after the reconnect backoff. Requires <c>sasl.mechanism=AWS_MSK_IAM</c>.
    /// </summary>
    public ProducerBuilder<TKey, TValue> SetAwsCredentialsProvider(Func<CancellationToken, ValueTask<AwsCredentials>> provider)
    {
        _awsCredentialsProvider = provider ?? throw new ArgumentNullException(nameof(provider));
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

        if (_awsCredentialsProvider is not null)
        {
            given = given with { Sasl = (given.Sasl ?? new SaslOptions()) with { AwsCredentialsProvider = _awsCredentialsProvider } };
        }

        var options = given.Validate();
        var keySerializer = SerializerResolver.Resolve(_keySerializer, options.KeySerializer, "key.serializer");
        var valueSerializer = SerializerResolver.Resolve(_valueSerializer, options.ValueSerializer, "value.serializer");
        var partitioner = _partitioner ?? (options.Partitioner == PartitionerKind.RoundRobin ? new RoundRobinPartitioner() : null);
        var interceptors = _interceptors.Count == 0 ? null : new InterceptorChain<TKey, TValue>([.. _interceptors], _loggers.Producer);
        var engine = new ProducerEngine(options, _loggers, interceptors);
        return new KafkaProducer<TKey, TValue>(engine, keySerializer, valueSerializer, partitioner, _closeTimeout, interceptors);
    }
}
