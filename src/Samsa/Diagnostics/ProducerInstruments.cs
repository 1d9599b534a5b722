using System.Diagnostics.Metrics;
using System.Reflection;
using System.Runtime.CompilerServices;

namespace Samsa.Diagnostics;

/// <summary>
/// The instruments of one <see cref="Meter"/> named <c>Samsa</c>, and the producers its observable gauges read.
/// Producers built without a meter factory share <see cref="Shared"/>, on a static meter; those built with one
/// (<see cref="ProducerBuilder{TKey, TValue}.SetMeterFactory"/>) share the instruments of that factory's meter
/// (<see cref="For"/>), so its gauges report those producers only. Each measurement carries its producer's
/// <c>messaging.client.id</c>. A producer holds its instruments from the start (<see cref="ProducerTelemetry"/>),
/// so recording looks nothing up, and checks <see cref="Instrument.Enabled"/> first: with no listener, recording
/// costs a field read.
/// </summary>
internal sealed class ProducerInstruments
{
    // The semantic conventions' advice for messaging durations, in seconds.
    private static readonly double[] s_durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    // One set of instruments per meter: a factory hands out the same meter for the same options (the host's does), and
    // instruments created twice on one meter would report every observable gauge twice. Weak, so that a meter of a
    // disposed factory goes with it.
    private static readonly ConditionalWeakTable<Meter, ProducerInstruments> s_byMeter = new();

    private readonly List<ProducerTelemetry> _producers = [];

    private ProducerInstruments(Meter meter)
    {
        SentMessages = meter.CreateCounter<long>(
            TelemetryNames.SentMessages, "{message}", "Records the producer attempted to send, counted when their outcome is known; error.type is set on those that failed.");
        OperationDuration = meter.CreateHistogram(
            TelemetryNames.OperationDuration, "s", "Time from the producer accepting a record to its acknowledgement (or final failure).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_durationBuckets });
        BatchSize = meter.CreateHistogram(
            TelemetryNames.BatchSize, "By", "Size of a record batch as sent (after compression), recorded once per batch.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304] });
        CompressionRatio = meter.CreateHistogram(
            TelemetryNames.CompressionRatio, "1", "Compressed size of a batch divided by its uncompressed size (1 without compression), once per batch.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1] });
        RequestRecords = meter.CreateHistogram(
            TelemetryNames.RequestRecords, "{record}", "Records in one Produce request.",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000] });
        RequestDuration = meter.CreateHistogram(
            TelemetryNames.RequestDuration, "s", "Time from writing a Produce request to a broker to its answer (or failure), per broker.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_durationBuckets });
        RequestsInFlight = meter.CreateUpDownCounter<long>(
            TelemetryNames.RequestsInFlight, "{request}", "Produce requests sent to a broker and not answered yet.");
        ThrottleDuration = meter.CreateHistogram(
            TelemetryNames.ThrottleDuration, "s", "Throttle time a broker gave in a Produce answer (KIP-219), zero included, per broker.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30] });
        RecordRetries = meter.CreateCounter<long>(
            TelemetryNames.RecordRetries, "{record}", "Records whose batch is sent again after a failed attempt, by the attempt's error.type.");
        RecordErrors = meter.CreateCounter<long>(
            TelemetryNames.RecordErrors, "{record}", "Records that failed for good, by error.type: refused at the call (buffer full, too large, serialization) or failed after being accepted.");

        // Observable instruments read this meter's producers when a listener collects; nothing is kept per record.
        meter.CreateObservableGauge(
            TelemetryNames.BufferUsed, () => Observe(static p => p.BufferUsed), "By", "Bytes of buffer.memory held by records not yet reported.");
        meter.CreateObservableGauge(
            TelemetryNames.BufferAvailable, () => Observe(static p => p.BufferAvailable), "By", "Bytes of buffer.memory free for new records.");
        meter.CreateObservableGauge(
            TelemetryNames.RecordsQueued, () => Observe(static p => p.RecordsQueued), "{record}", "Records accepted and not yet reported: in batches, or waiting for their topic's metadata.");
        meter.CreateObservableGauge(
            TelemetryNames.MetadataAge, () => Observe(static p => p.MetadataAgeSeconds), "s", "Time since the producer last received cluster metadata.");
        meter.CreateObservableCounter(
            TelemetryNames.ConnectionsCreated, () => Observe(static p => p.ConnectionsCreated), "{connection}", "Broker connections established since the producer started.");
        meter.CreateObservableGauge(
            TelemetryNames.Connections, () => Observe(static p => p.ConnectionCount), "{connection}", "Broker connections open.");
    }

    /// <summary>The package version (informational version without SourceLink's "+commit" suffix), which every Samsa meter and activity source carries.</summary>
    public static string? Version { get; } = AssemblyVersion();

    /// <summary>The instruments of the static meter, for producers built without a meter factory.</summary>
    public static ProducerInstruments Shared { get; } = new(new Meter(Options()));

    public Counter<long> SentMessages { get; }

    public Histogram<double> OperationDuration { get; }

    public Histogram<int> BatchSize { get; }

    public Histogram<double> CompressionRatio { get; }

    public Histogram<int> RequestRecords { get; }

    public Histogram<double> RequestDuration { get; }

    public UpDownCounter<long> RequestsInFlight { get; }

    public Histogram<double> ThrottleDuration { get; }

    public Counter<long> RecordRetries { get; }

    public Counter<long> RecordErrors { get; }

    /// <summary>The instruments of <paramref name="factory"/>'s <c>Samsa</c> meter, created the first time that meter is seen.</summary>
    public static ProducerInstruments For(IMeterFactory factory) =>
        s_byMeter.GetValue(factory.Create(Options()), static meter => new ProducerInstruments(meter));

    /// <summary>Adds <paramref name="producer"/> to what this meter's gauges report.</summary>
    public void Register(ProducerTelemetry producer)
    {
        lock (_producers)
        {
            _producers.Add(producer);
        }
    }

    public void Unregister(ProducerTelemetry producer)
    {
        lock (_producers)
        {
            _producers.Remove(producer);
        }
    }

    private static MeterOptions Options() => new(SamsaTelemetry.MeterName) { Version = Version };

    private List<Measurement<T>> Observe<T>(Func<ProducerTelemetry, T> read)
        where T : struct
    {
        ProducerTelemetry[] producers;
        lock (_producers)
        {
            producers = [.. _producers];
        }

        var measurements = new List<Measurement<T>>(producers.Length);
        foreach (var producer in producers)
        {
            measurements.Add(new Measurement<T>(read(producer), new KeyValuePair<string, object?>(TelemetryNames.MessagingSystem, TelemetryNames.Kafka), new KeyValuePair<string, object?>(TelemetryNames.ClientId, producer.ClientId)));
        }

        return measurements;
    }

    private static string? AssemblyVersion()
    {
        var version = typeof(ProducerInstruments).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        var plus = version?.IndexOf('+') ?? -1;
        return plus >= 0 ? version![..plus] : version ?? typeof(ProducerInstruments).Assembly.GetName().Version?.ToString();
    }
}
