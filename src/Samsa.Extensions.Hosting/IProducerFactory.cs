namespace Samsa.Extensions.Hosting;

/// <summary>
/// The producers registered with <c>AddSamsaProducer</c>, by name. Each is created once, on first use
/// (or at host start), and disposed with the container. The unnamed producer's name is
/// <see cref="Microsoft.Extensions.Options.Options.DefaultName"/> (the empty string); it is also
/// resolvable as <see cref="IProducer{TKey, TValue}"/>, and a named one as a keyed service.
/// </summary>
public interface IProducerFactory
{
    /// <summary>The names of the registered producers.</summary>
    IReadOnlyCollection<string> Names { get; }

    /// <summary>The producer registered under <paramref name="name"/>, created on first use.</summary>
    /// <exception cref="InvalidOperationException">
    /// No producer has that name, or it was registered with other key and value types (the message says which).
    /// </exception>
    /// <exception cref="ConfigException">Its configuration is invalid (as from <see cref="ProducerBuilder{TKey, TValue}.Build"/>).</exception>
    IProducer<TKey, TValue> GetProducer<TKey, TValue>(string name);
}
