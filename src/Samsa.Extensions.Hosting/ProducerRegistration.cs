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
        foreach (var action in BuilderActions)
        {
            action(services, builder);
        }

        var producer = builder.Build();
        return new CreatedProducer(producer, producer.GetHealth, producer.FlushAsync, producer.DisposeAsync);
    }
}

/// <summary>A built producer, with what the factory, the host and the health check need of it, whatever its types.</summary>
internal sealed record CreatedProducer(
    object Producer,
    Func<ProducerHealth> GetHealth,
    Func<CancellationToken, Task> FlushAsync,
    Func<ValueTask> DisposeAsync);
