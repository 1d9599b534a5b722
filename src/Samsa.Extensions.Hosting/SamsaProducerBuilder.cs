using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Samsa.Extensions.Hosting;

/// <summary>
/// Returned by <c>AddSamsaProducer</c>, to go on configuring that producer: more settings, the
/// <see cref="ProducerBuilder{TKey, TValue}"/> (serializers, partitioner), and a health check.
/// </summary>
public sealed class SamsaProducerBuilder<TKey, TValue>
{
    private readonly ProducerRegistration<TKey, TValue> _registration;

    internal SamsaProducerBuilder(IServiceCollection services, ProducerRegistration<TKey, TValue> registration)
    {
        Services = services;
        _registration = registration;
    }

    /// <summary>The service collection the producer is registered in.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The producer's name; empty for the default (unnamed) producer.</summary>
    public string Name => _registration.Name;

    /// <summary>Changes the producer's settings, after the configuration section (if any) was read.</summary>
    /// <returns>This builder, for chaining.</returns>
    public SamsaProducerBuilder<TKey, TValue> Configure(Action<SamsaProducerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        Services.Configure(Name, configure);
        return this;
    }

    /// <summary>
    /// Configures the <see cref="ProducerBuilder{TKey, TValue}"/> before <c>Build()</c>, e.g. to set a
    /// serializer or partitioner. The loggers are already set from <c>ILoggerFactory</c> (categories
    /// <c>Samsa.Producer</c>, <c>Samsa.Network</c>, <c>Samsa.Metadata</c>, <c>Samsa.Security</c>; for a named producer
    /// each ends with <c>.NAME</c>, e.g. <c>Samsa.Network.NAME</c>).
    /// </summary>
    /// <returns>This builder, for chaining.</returns>
    public SamsaProducerBuilder<TKey, TValue> ConfigureBuilder(Action<ProducerBuilder<TKey, TValue>> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _registration.BuilderActions.Add((_, builder) => configure(builder));
        return this;
    }

    /// <summary>Like <see cref="ConfigureBuilder(Action{ProducerBuilder{TKey, TValue}})"/>, with the service provider, to resolve a serializer from it.</summary>
    /// <returns>This builder, for chaining.</returns>
    public SamsaProducerBuilder<TKey, TValue> ConfigureBuilder(Action<IServiceProvider, ProducerBuilder<TKey, TValue>> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _registration.BuilderActions.Add(configure);
        return this;
    }

    /// <summary>
    /// Adds a health check for this producer (Microsoft.Extensions.Diagnostics.HealthChecks):
    /// <see cref="HealthStatus.Unhealthy"/> (or <paramref name="failureStatus"/>) once the producer has failed
    /// for good, <see cref="HealthStatus.Degraded"/> while a broker it needs is unreachable or its
    /// <c>buffer.memory</c> is at least <paramref name="bufferNearlyFull"/> full, healthy otherwise.
    /// Its data has the buffer's used and limit bytes and the connected and unreachable broker counts.
    /// </summary>
    /// <param name="name">The check's name; default <c>samsa-producer</c>, or <c>samsa-producer-NAME</c> for a named producer.</param>
    /// <param name="failureStatus">Reported when the producer is fatal; default <see cref="HealthStatus.Unhealthy"/>.</param>
    /// <param name="tags">Tags to filter checks by, e.g. <c>"ready"</c>.</param>
    /// <param name="bufferNearlyFull">The share of <c>buffer.memory</c> in use from which the check is degraded, above 0 and at most 1; default 0.9.</param>
    /// <returns>This builder, for chaining.</returns>
    public SamsaProducerBuilder<TKey, TValue> AddHealthCheck(
        string? name = null,
        HealthStatus? failureStatus = null,
        IEnumerable<string>? tags = null,
        double bufferNearlyFull = 0.9)
    {
        if (!(bufferNearlyFull > 0 && bufferNearlyFull <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(bufferNearlyFull), bufferNearlyFull, "The share of buffer.memory must be above 0 and at most 1.");
        }

        var producerName = Name;
        Services.AddHealthChecks().Add(new HealthCheckRegistration(
            name ?? (producerName.Length == 0 ? "samsa-producer" : $"samsa-producer-{producerName}"),
            services => new ProducerHealthCheck(services.GetRequiredService<ProducerFactory>(), producerName, bufferNearlyFull),
            failureStatus,
            tags));
        return this;
    }
}
