namespace Samsa.Extensions.Hosting;

/// <summary>
/// Creates each registered producer once, on first use, and disposes them with the container, all at once
/// (disposing flushes, up to <see cref="SamsaProducerOptions.CloseTimeout"/>; the wait for each is bounded, see
/// <see cref="CreatedProducer.DisposeBoundedAsync"/>).
/// </summary>
internal sealed class ProducerFactory : IProducerFactory, IAsyncDisposable, IDisposable
{
    private readonly IServiceProvider _services;
    private readonly Dictionary<string, ProducerRegistration> _registrations;
    private readonly Dictionary<string, Lazy<CreatedProducer>> _producers;

    public ProducerFactory(IServiceProvider services, IEnumerable<ProducerRegistration> registrations)
    {
        _services = services;
        _registrations = registrations.ToDictionary(r => r.Name, StringComparer.Ordinal);
        _producers = _registrations.ToDictionary(
            r => r.Key,
            r => new Lazy<CreatedProducer>(() => r.Value.Create(_services), LazyThreadSafetyMode.ExecutionAndPublication),
            StringComparer.Ordinal);
    }

    public IReadOnlyCollection<string> Names => _registrations.Keys;

    public IProducer<TKey, TValue> GetProducer<TKey, TValue>(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (!_registrations.TryGetValue(name, out var registration))
        {
            var known = _registrations.Count == 0 ? "none is registered" : "registered: " + string.Join(", ", _registrations.Keys.Order(StringComparer.Ordinal).Select(Show));
            throw new InvalidOperationException($"No Samsa producer is named {Show(name)} ({known}). Register it with AddSamsaProducer.");
        }

        if (registration.KeyType != typeof(TKey) || registration.ValueType != typeof(TValue))
        {
            throw new InvalidOperationException(
                $"The Samsa producer {Show(name)} is an {registration.Describe()}, not an IProducer<{typeof(TKey).Name}, {typeof(TValue).Name}>.");
        }

        return (IProducer<TKey, TValue>)_producers[name].Value.Producer;
    }

    /// <summary>Every producer created so far, with its name: the ones to flush on shutdown.</summary>
    internal IEnumerable<(string Name, CreatedProducer Producer)> Created() =>
        _producers.Where(p => p.Value.IsValueCreated).Select(p => (p.Key, p.Value.Value));

    /// <summary>Creates every registered producer, so that a configuration error fails the host's start.</summary>
    internal void CreateAll()
    {
        foreach (var producer in _producers.Values)
        {
            _ = producer.Value;
        }
    }

    /// <summary>The named producer's health, creating it if needed; the name must be registered.</summary>
    internal ProducerHealth GetHealth(string name) => _producers[name].Value.GetHealth();

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(Created().Select(p => p.Producer.DisposeBoundedAsync())).ConfigureAwait(false);
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    internal static string Show(string name) => name.Length == 0 ? "(default)" : $"'{name}'";
}
