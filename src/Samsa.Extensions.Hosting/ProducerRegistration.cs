using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Samsa.Extensions.Hosting;

/// <summary>One <c>AddSamsaProducer</c> call: its name, its types, and how to build its producer.</summary>
internal abstract class ProducerRegistration(string name)
{
    public string Name { get; } = name;

    public abstract Type KeyType { get; }

    public abstract Type ValueType { get; }

    /// <summary>Builds the producer; called once, by <see cref="ProducerFactory"/>.</summary>
    public abstract CreatedProducer Create(IServiceProvider services);

    public string Describe() => $"IProducer<{KeyType.Name}, {ValueType.Name}>";
}

internal sealed class ProducerRegistration<TKey, TValue>(string name) : ProducerRegistration(name)
{
    public List<Action<IServiceProvider, ProducerBuilder<TKey, TValue>>> BuilderActions { get; } = [];

    public override Type KeyType => typeof(TKey);

    public override Type ValueType => typeof(TValue);

    public override CreatedProducer Create(IServiceProvider services)
    {
        var settings = services.GetRequiredService<IOptionsMonitor<SamsaProducerOptions>>().Get(Name);
        ProducerOptions options;
        try
        {
            options = settings.ToProducerOptions();
        }
        catch (ConfigException e)
        {
            throw new ConfigException(e.Key, settings.Describe(e), e.Value, e.Allowed, e.Suggestion);
        }

        var loggers = services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
        var builder = new ProducerBuilder<TKey, TValue>(options)
            .SetLoggerFactory(Name.Length == 0 ? loggers : new NamedLoggerFactory(loggers, Name))
            .SetCloseTimeout(settings.CloseTimeout);

        // A generic host registers an IMeterFactory (AddMetrics): the producer's instruments then belong to the
        // container, as its loggers do. Without one, the producer keeps the static meter.
        if (services.GetService<IMeterFactory>() is { } meters)
        {
            builder.SetMeterFactory(meters);
        }

        foreach (var action in BuilderActions)
        {
            action(services, builder);
        }

        var producer = builder.Build();
        return new CreatedProducer(producer, producer.GetHealth, producer.FlushAsync, producer.CloseAsync, settings.CloseTimeout);
    }
}

/// <summary>A built producer, with what the factory, the host and the health check need of it, whatever its types.</summary>
internal sealed record CreatedProducer(
    object Producer,
    Func<ProducerHealth> GetHealth,
    Func<CancellationToken, Task> FlushAsync,
    Func<TimeSpan, ValueTask> CloseAsync,
    TimeSpan CloseTimeout)
{
    /// <summary>
    /// What closing may take beyond its timeout: closing the connections and reporting the records failed at the
    /// close, which runs their delivery handlers.
    /// </summary>
    public static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(5);

    /// <summary>Disposes the producer: <see cref="CloseBoundedAsync"/> with <see cref="CloseTimeout"/>.</summary>
    public Task<bool> DisposeBoundedAsync() => CloseBoundedAsync(CloseTimeout);

    /// <summary>
    /// Closes the producer, which waits at most <paramref name="timeout"/> for outstanding records and fails the rest
    /// (a close already under way is shortened to it), and waits for the close at most <paramref name="timeout"/> plus
    /// <see cref="CloseGrace"/>: a delivery handler that blocks could hold the close forever, and a host must stop.
    /// False when that wait ran out; the close then goes on in the background.
    /// </summary>
    public async Task<bool> CloseBoundedAsync(TimeSpan timeout)
    {
        try
        {
            // On the thread pool: the close may report records on the calling thread before it first yields, and a
            // handler that blocks there would hold this method before the bound below is ever applied.
            await Task.Run(() => CloseAsync(timeout).AsTask()).WaitAsync(timeout + CloseGrace).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
