namespace Samsa.Extensions.Hosting;

/// <summary>
/// How a producer registered with <c>AddSamsaProducer</c> is configured: Java producer properties
/// (from configuration or code), then typed changes to the resulting <see cref="ProducerOptions"/>.
/// One instance per producer name (the options name).
/// </summary>
public sealed class SamsaProducerOptions
{
    private readonly List<Func<ProducerOptions, ProducerOptions>> _changes = [];

    /// <summary>
    /// Java producer properties, e.g. <c>bootstrap.servers</c> or <c>linger.ms</c>, parsed by
    /// <see cref="ProducerOptions.FromProperties"/>. A configuration section fills it; code may add to it.
    /// </summary>
    public IDictionary<string, string> Properties { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// How long disposing the producer waits for records still unsent, before failing them with
    /// <see cref="ProducerClosedException"/> (<see cref="ProducerBuilder{TKey, TValue}.SetCloseTimeout"/>; 30 s, as the
    /// builder). On host shutdown it does not apply: the producer is flushed within the host's shutdown timeout, and
    /// when that passes first, closed with no time left, failing what the flush could not send at once. It bounds the
    /// container's dispose of a producer the stop did not close (records produced after the stop's flush, or a
    /// container disposed without stopping the host).
    /// </summary>
    public TimeSpan CloseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// For each property, the configuration path it was read from (e.g. <c>Kafka:Producer:LingerMs</c>),
    /// so that an error can name the key as the user wrote it.
    /// </summary>
    internal Dictionary<string, string> Sources { get; } = new(StringComparer.Ordinal);

    /// <summary>Configuration entries that could not be read as a property (a nested section).</summary>
    internal List<string> BindingErrors { get; } = [];

    /// <summary>
    /// Adds a typed change, applied in order after <see cref="Properties"/> are parsed, e.g.
    /// <c>o.Update(p =&gt; p with { Linger = TimeSpan.FromMilliseconds(10) })</c>. Returning a new
    /// <see cref="ProducerOptions"/> that ignores its argument replaces everything before it.
    /// </summary>
    /// <returns>These options, for chaining.</returns>
    public SamsaProducerOptions Update(Func<ProducerOptions, ProducerOptions> change)
    {
        ArgumentNullException.ThrowIfNull(change);
        _changes.Add(change);
        return this;
    }

    /// <summary>
    /// The producer options these settings describe: <see cref="Properties"/> parsed, then every
    /// <see cref="Update"/> applied. Not yet validated: <see cref="ProducerOptions.Validate"/> does that,
    /// at startup and again in <see cref="ProducerBuilder{TKey, TValue}.Build"/>.
    /// </summary>
    /// <exception cref="ConfigException">A property is unknown or its value does not parse; the message names the key.</exception>
    /// <exception cref="InvalidOperationException">The configuration section held an entry that is not a property (a nested section).</exception>
    public ProducerOptions ToProducerOptions()
    {
        if (BindingErrors.Count > 0)
        {
            throw new InvalidOperationException(string.Join(" ", BindingErrors));
        }

        var options = ProducerOptions.FromProperties(Properties);
        foreach (var change in _changes)
        {
            options = change(options) ?? throw new InvalidOperationException("A SamsaProducerOptions.Update change returned null.");
        }

        return options;
    }

    /// <summary>
    /// <see cref="Exception.Message"/> of the error, followed by the configuration path the key came from, if it
    /// came from configuration.
    /// </summary>
    internal string Describe(ConfigException error) =>
        Sources.TryGetValue(error.Key, out var path) ? $"{error.Message} (configuration key '{path}')" : error.Message;
}
