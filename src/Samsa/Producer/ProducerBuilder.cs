using System.Diagnostics.Metrics;
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
    private IAsyncSerializer<TKey>? _asyncKeySerializer;
    private IAsyncSerializer<TValue>? _asyncValueSerializer;
    private IPartitioner? _partitioner;
    private SamsaLoggers _loggers = SamsaLoggers.Null;
    private IMeterFactory? _meterFactory;
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
        _asyncKeySerializer = null;
        return this;
    }

    /// <summary>
    /// Serializes keys asynchronously (e.g. with a schema registry), replacing any synchronous key serializer.
    /// Only <c>ProduceAsync</c> can await it: <c>Produce</c> and <c>TryProduce</c> then throw
    /// <see cref="InvalidOperationException"/> (see <see cref="IAsyncSerializer{T}"/>).
    /// </summary>
    public ProducerBuilder<TKey, TValue> SetKeySerializer(IAsyncSerializer<TKey> serializer)
    {
        _asyncKeySerializer = serializer ?? throw new ArgumentNullException(nameof(serializer));
        _keySerializer = null;
        return this;
    }

    /// <summary>Serializes values; without it, <c>value.serializer</c> or the built-in serializer for <typeparamref name="TValue"/> is used.</summary>
    public ProducerBuilder<TKey, TValue> SetValueSerializer(ISerializer<TValue> serializer)
    {
        _valueSerializer = serializer ?? throw new ArgumentNullException(nameof(serializer));
        _asyncValueSerializer = null;
        return this;
    }

    /// <summary>
    /// Serializes values asynchronously (e.g. with a schema registry), replacing any synchronous value serializer.
    /// Only <c>ProduceAsync</c> can await it: <c>Produce</c> and <c>TryProduce</c> then throw
    /// <see cref="InvalidOperationException"/> (see <see cref="IAsyncSerializer{T}"/>).
    /// </summary>
    public ProducerBuilder<TKey, TValue> SetValueSerializer(IAsyncSerializer<TValue> serializer)
    {
        _asyncValueSerializer = serializer ?? throw new ArgumentNullException(nameof(serializer));
        _valueSerializer = null;
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
    /// Where the producer's metrics are reported: on the <c>Samsa</c> meter (<see cref="SamsaTelemetry.MeterName"/>)
    /// that <paramref name="meterFactory"/> creates, instead of the static <c>Samsa</c> meter that producers built
    /// without a factory share. Give the application's <see cref="IMeterFactory"/> (the one dependency injection holds,
    /// which <c>Samsa.Extensions.Hosting</c> passes on by itself) so that the producer's instruments belong to that
    /// container: a listener or test can tell them apart by <see cref="Meter.Scope"/>, and the factory's observable
    /// gauges report only the producers built with it. Listeners that select meters by name, as OpenTelemetry's
    /// <c>AddMeter("Samsa")</c> and <c>dotnet-counters</c> do, see both kinds. Producers given the same factory share
    /// its meter and instruments. The producer does not dispose the factory; once it is disposed, the producer's
    /// measurements go nowhere.
    /// </summary>
    public ProducerBuilder<TKey, TValue> SetMeterFactory(IMeterFactory meterFactory)
    {
        _meterFactory = meterFactory ?? throw new ArgumentNullException(nameof(meterFactory));
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
        var keySerializer = _asyncKeySerializer is null ? SerializerResolver.Resolve(_keySerializer, options.KeySerializer, "key.serializer") : AsyncOnlySerializer<TKey>.Instance;
        var valueSerializer = _asyncValueSerializer is null ? SerializerResolver.Resolve(_valueSerializer, options.ValueSerializer, "value.serializer") : AsyncOnlySerializer<TValue>.Instance;
        var partitioner = _partitioner ?? (options.Partitioner == PartitionerKind.RoundRobin ? new RoundRobinPartitioner() : null);
        var interceptors = _interceptors.Count == 0 ? null : new InterceptorChain<TKey, TValue>([.. _interceptors], _loggers.Producer);
        var instruments = _meterFactory is null ? ProducerInstruments.Shared : ProducerInstruments.For(_meterFactory);
        var engine = new ProducerEngine(options, _loggers, interceptors, instruments);
        return new KafkaProducer<TKey, TValue>(engine, keySerializer, valueSerializer, partitioner, _closeTimeout, interceptors, _asyncKeySerializer, _asyncValueSerializer);
    }
}
