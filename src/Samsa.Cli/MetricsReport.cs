using System.Globalization;

namespace Samsa.Cli;

/// <summary>
/// <c>samsa perf --print-metrics</c>: the producer's final figures, printed as kafka-producer-perf-test prints its
/// metrics, one <c>group:name:{client-id=…} : value</c> per line under a <c>Metric Name … Value</c> header, names
/// sorted. Kafka's names are used where the figure is the same (record-send-total, record-error-total,
/// buffer-total-bytes, buffer-available-bytes, connection-count). A new source of figures (a Meter listener, say)
/// is one more <c>Add…</c> method that calls <see cref="Add"/>.
/// </summary>
internal sealed class MetricsReport(string clientId)
{
    private readonly SortedDictionary<string, double> _metrics = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, double> Metrics => _metrics;

    /// <summary>Adds one metric of <paramref name="group"/> (e.g. producer-metrics).</summary>
    public MetricsReport Add(string group, string name, double value)
    {
        _metrics[$"{group}:{name}:{{client-id={clientId}}}"] = value;
        return this;
    }

    /// <summary>The run's counters, as the benchmark counted the delivery reports.</summary>
    public MetricsReport AddRun(PerfResult result) => this
        .Add("producer-metrics", "record-send-total", result.Records)
        .Add("producer-metrics", "record-acked-total", result.Acknowledged)
        .Add("producer-metrics", "record-error-total", result.Errors)
        .Add("producer-metrics", "record-send-rate", Math.Round(result.Seconds > 0 ? result.Records / result.Seconds : 0, 3))
        .Add("producer-metrics", "byte-total", result.Acknowledged * (double)result.RecordSize)
        .Add("producer-metrics", "request-latency-avg", Math.Round(result.Latency.AverageMs, 3))
        .Add("producer-metrics", "request-latency-max", result.Latency.MaxMs);

    /// <summary>What <see cref="IProducer{TKey, TValue}.GetHealth"/> says at the end of the run.</summary>
    public MetricsReport AddHealth(ProducerHealth health) => this
        .Add("producer-metrics", "buffer-total-bytes", health.BufferLimitBytes)
        .Add("producer-metrics", "buffer-available-bytes", health.BufferLimitBytes - health.BufferUsedBytes)
        .Add("producer-metrics", "connection-count", health.ConnectedBrokers)
        .Add("samsa-producer-health", "unreachable-broker-count", health.UnreachableBrokers)
        .Add("samsa-producer-health", "fatal", health.FatalError is null ? 0 : 1);

    /// <summary>Writes the table, Kafka's layout: names padded to the longest, values with three decimals.</summary>
    public void Write(CliContext context)
    {
        var width = Math.Max("Metric Name".Length, _metrics.Keys.Max(k => k.Length));
        context.Out($"{"Metric Name".PadRight(width)}   Value");
        foreach (var (name, value) in _metrics)
        {
            context.Out(string.Create(CultureInfo.InvariantCulture, $"{name.PadRight(width)} : {value:F3}"));
        }
    }
}
