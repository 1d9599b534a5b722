using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Samsa;
using Samsa.Extensions.Hosting;

// In Microsoft.Extensions.DependencyInjection, as Npgsql's AddNpgsqlDataSource and Microsoft's own
// Add* methods are, so that AddSamsaProducer is found on IServiceCollection without another using.
namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Samsa producers in a service collection.</summary>
public static class SamsaServiceCollectionExtensions
{
    /// <summary>
    /// Registers the default producer, resolvable as <see cref="IProducer{TKey, TValue}"/>, configured from
    /// <paramref name="configuration"/> (e.g. <c>builder.Configuration.GetSection("Kafka:Producer")</c>), whose
    /// keys are Java producer keys (<c>"bootstrap.servers"</c>, <c>"linger.ms"</c>) or the same keys in PascalCase
    /// (<c>"BootstrapServers"</c>, <c>"LingerMs"</c>), with values as in a <c>.properties</c> file. The settings
    /// are validated when the host starts, with the messages of <see cref="ProducerBuilder{TKey, TValue}.Build"/>;
    /// the producer is created then, flushed when the host stops and disposed with the container.
    /// </summary>
    /// <returns>A builder to set serializers, more settings, or a health check.</returns>
    public static SamsaProducerBuilder<TKey, TValue> AddSamsaProducer<TKey, TValue>(this IServiceCollection services, IConfiguration configuration) =>
        services.AddSamsaProducer<TKey, TValue>(Options.Options.DefaultName, configuration);

    /// <summary>Registers the default producer, configured in code (<see cref="SamsaProducerOptions.Properties"/> or <see cref="SamsaProducerOptions.Update"/>).</summary>
    /// <returns>A builder to set serializers, more settings, or a health check.</returns>
    public static SamsaProducerBuilder<TKey, TValue> AddSamsaProducer<TKey, TValue>(this IServiceCollection services, Action<SamsaProducerOptions> configure) =>
        services.AddSamsaProducer<TKey, TValue>(Options.Options.DefaultName, configure);

    /// <summary>Registers the default producer with typed options, e.g. <c>new ProducerOptions { BootstrapServers = ["localhost:9092"] }</c>.</summary>
    /// <returns>A builder to set serializers, more settings, or a health check.</returns>
    public static SamsaProducerBuilder<TKey, TValue> AddSamsaProducer<TKey, TValue>(this IServiceCollection services, ProducerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return services.AddSamsaProducer<TKey, TValue>(Options.Options.DefaultName, o => o.Update(_ => options));
    }

    /// <summary>
    /// Registers a named producer, configured from <paramref name="configuration"/> as the default one is. Get it
    /// from <see cref="IProducerFactory"/> (<c>factory.GetProducer&lt;TKey, TValue&gt;(name)</c>) or as a keyed service
    /// (<c>[FromKeyedServices("orders")] IProducer&lt;TKey, TValue&gt;</c>).
    /// </summary>
    /// <returns>A builder to set serializers, more settings, or a health check.</returns>
    public static SamsaProducerBuilder<TKey, TValue> AddSamsaProducer<TKey, TValue>(this IServiceCollection services, string name, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return services.AddSamsaProducer<TKey, TValue>(name, o => ConfigurationBinding.Bind(configuration, o));
    }

    /// <summary>Registers a named producer, configured in code.</summary>
    /// <returns>A builder to set serializers, more settings, or a health check.</returns>
    /// <exception cref="InvalidOperationException">A producer with that name is already registered.</exception>
    public static SamsaProducerBuilder<TKey, TValue> AddSamsaProducer<TKey, TValue>(this IServiceCollection services, string name, Action<SamsaProducerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(configure);

        foreach (var descriptor in services)
        {
            if (descriptor.ServiceType == typeof(ProducerRegistration) && descriptor.ImplementationInstance is ProducerRegistration existing && existing.Name == name)
            {
                throw new InvalidOperationException(
                    $"A Samsa producer {ProducerFactory.Show(name)} is already registered ({existing.Describe()}). Give each AddSamsaProducer call its own name, or use the returned builder's Configure to change it.");
            }
        }

        var registration = new ProducerRegistration<TKey, TValue>(name);
        services.AddSingleton<ProducerRegistration>(registration);
        services.AddOptions<SamsaProducerOptions>(name).Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SamsaProducerOptions>, SamsaProducerOptionsValidator>());
        services.TryAddSingleton<ProducerFactory>();
        services.TryAddSingleton<IProducerFactory>(static sp => sp.GetRequiredService<ProducerFactory>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, SamsaProducerLifetime>());

        // The factory owns and disposes the producers; these registrations hand out the same instance
        // (the container disposes it too, which is harmless: a producer closes once).
        if (name.Length == 0)
        {
            services.AddSingleton(static sp => sp.GetRequiredService<IProducerFactory>().GetProducer<TKey, TValue>(Options.Options.DefaultName));
        }
        else
        {
            services.AddKeyedSingleton(name, static (sp, key) => sp.GetRequiredService<IProducerFactory>().GetProducer<TKey, TValue>((string)key!));
        }

        return new SamsaProducerBuilder<TKey, TValue>(services, registration);
    }
}
