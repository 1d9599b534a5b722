using System.Diagnostics.Metrics;
using System.Reflection;

namespace Samsa.Diagnostics;

/// <summary>
/// The one <see cref="Meter"/> named <c>Samsa</c> and its instruments, shared by every producer of the
/// process (each measurement carries its producer's <c>messaging.client.id</c>). Producers record
/// through <see cref="ProducerTelemetry"/>, which checks <see cref="Instrument.Enabled"/> first: with
/// no listener, recording costs a field read.
/// </summary>
internal static class ProducerMetrics
{
    // The semantic conventions' advice for messaging durations, in seconds.
    private static readonly double[] s_durationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    private static readonly List<ProducerTelemetry> s_producers = [];

    public static readonly Meter Meter = new(new MeterOptions(SamsaTelemetry.MeterName) { Version = AssemblyVersion() });

    public static readonly Counter<long> SentMessages = Meter.CreateCounter<long>(
        TelemetryNames.SentMessages, "{message}", "Records the producer attempted to send, counted when their outcome is known; error.type is set on those that failed.");

    public static readonly Histogram<double> OperationDuration = Meter.CreateHistogram(
        TelemetryNames.OperationDuration, "s", "Time from the producer accepting a record to its acknowledgement (or final failure).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_durationBuckets });

    public static readonly Histogram<int> BatchSize = Meter.CreateHistogram(
        TelemetryNames.BatchSize, "By", "Size of a record batch as sent (after compression), recorded once per batch.",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304] });

    public static readonly Histogram<double> CompressionRatio = Meter.CreateHistogram(
        TelemetryNames.CompressionRatio, "1", "Compressed size of a batch divided by its uncompressed size (1 without compression), once per batch.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1] });

    public static readonly Histogram<int> RequestRecords = Meter.CreateHistogram(
        TelemetryNames.RequestRecords, "{record}", "Records in one Produce request.",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000] });

    public static readonly Histogram<double> RequestDuration = Meter.CreateHistogram(
        TelemetryNames.RequestDuration, "s", "Time from writing a Produce request to a broker to its answer (or failure), per broker.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = s_durationBuckets });

    public static readonly UpDownCounter<long> RequestsInFlight = Meter.CreateUpDownCounter<long>(
        TelemetryNames.RequestsInFlight, "{request}", "Produce requests sent to a broker and not answered yet.");

    public static readonly Histogram<double> ThrottleDuration = Meter.CreateHistogram(
        TelemetryNames.ThrottleDuration, "s", "Throttle time a broker gave in a Produce answer (KIP-219), zero included, per broker.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30] });

    public static readonly Counter<long> RecordRetries = Meter.CreateCounter<long>(
        TelemetryNames.RecordRetries, "{record}", "Records whose batch is sent again after a failed attempt, by the attempt's error.type.");

    public static readonly Counter<long> RecordErrors = Meter.CreateCounter<long>(
        TelemetryNames.RecordErrors, "{record}", "Records that failed for good, by error.type: refused at the call (buffer full, too large, serialization) or failed after being accepted.");

    // Observable instruments read the registered producers when a listener collects; nothing is kept per record.
    public static readonly ObservableGauge<long> BufferUsed = Meter.CreateObservableGauge(
        TelemetryNames.BufferUsed, () => Observe(static p => p.BufferUsed), "By", "Bytes of buffer.memory held by records not yet reported.");

    public static readonly ObservableGauge<long> BufferAvailable = Meter.CreateObservableGauge(
        TelemetryNames.BufferAvailable, () => Observe(static p => p.BufferAvailable), "By", "Bytes of buffer.memory free for new records.");

    public static readonly ObservableGauge<long> RecordsQueued = Meter.CreateObservableGauge(
        TelemetryNames.RecordsQueued, () => Observe(static p => p.RecordsQueued), "{record}", "Records accepted and not yet reported: in batches, or waiting for their topic's metadata.");

    public static readonly ObservableGauge<double> MetadataAge = Meter.CreateObservableGauge(
        TelemetryNames.MetadataAge, () => Observe(static p => p.MetadataAgeSeconds), "s", "Time since the producer last received cluster metadata.");

    public static readonly ObservableCounter<long> ConnectionsCreated = Meter.CreateObservableCounter(
        TelemetryNames.ConnectionsCreated, () => Observe(static p => p.ConnectionsCreated), "{connection}", "Broker connections established since the producer started.");

    public static readonly ObservableGauge<long> Connections = Meter.CreateObservableGauge(
        TelemetryNames.Connections, () => Observe(static p => p.ConnectionCount), "{connection}", "Broker connections open.");

    public static void Register(ProducerTelemetry producer)
    {
        lock (s_producers)
        {
            s_producers.Add(producer);
        }
    }

    public static void Unregister(ProducerTelemetry producer)
    {
        lock (s_producers)
        {
            s_producers.Remove(producer);
        }
    }

    private static List<Measurement<T>> Observe<T>(Func<ProducerTelemetry, T> read)
        where T : struct
    {
        ProducerTelemetry[] producers;
        lock (s_producers)
        {
            producers = [.. s_producers];
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
        // The package version (informational version without SourceLink's "+commit" suffix).
        var version = typeof(ProducerMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        var plus = version?.IndexOf('+') ?? -1;
        return plus >= 0 ? version![..plus] : version ?? typeof(ProducerMetrics).Assembly.GetName().Version?.ToString();
    }
}
