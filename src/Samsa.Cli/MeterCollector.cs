using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Samsa.Cli;

/// <summary>
/// Listens to the Samsa meter as an exporter would, without a metrics SDK: every instrument is enabled and every
/// measurement aggregated (sums for counters, count, sum and max for histograms, the last value of gauges). With
/// <c>--observe</c> it also attaches a tracer to the Samsa activity source that samples nothing, so a benchmark
/// measures what an application under OpenTelemetry pays.
/// </summary>
internal sealed class MeterCollector : IDisposable
{
    private readonly MeterListener _meters = new();
    private readonly ActivityListener? _tracer;
    private readonly object _lock = new();
    private readonly Dictionary<string, Aggregate> _aggregates = new(StringComparer.Ordinal);

    public MeterCollector(bool unsampledTracer)
    {
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == SamsaTelemetry.MeterName)
            {
                listener.EnableMeasurementEvents(instrument, GetAggregate(instrument));
            }
        };
        _meters.SetMeasurementEventCallback<long>(static (instrument, value, _, state) => ((Aggregate)state!).Record(value));
        _meters.SetMeasurementEventCallback<int>(static (instrument, value, _, state) => ((Aggregate)state!).Record(value));
        _meters.SetMeasurementEventCallback<double>(static (instrument, value, _, state) => ((Aggregate)state!).Record(value));
        _meters.Start();

        if (unsampledTracer)
        {
            _tracer = new ActivityListener
            {
                ShouldListenTo = source => source.Name == SamsaTelemetry.ActivitySourceName,
                Sample = static (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.None,
            };
            ActivitySource.AddActivityListener(_tracer);
        }
    }

    /// <summary>Reads the gauges once more and adds every instrument's figures to <paramref name="report"/>.</summary>
    public void AddTo(MetricsReport report)
    {
        _meters.RecordObservableInstruments();
        lock (_lock)
        {
            foreach (var (name, aggregate) in _aggregates)
            {
                aggregate.AddTo(report, name);
            }
        }
    }

    public void Dispose()
    {
        _meters.Dispose();
        _tracer?.Dispose();
    }

    private Aggregate GetAggregate(Instrument instrument)
    {
        lock (_lock)
        {
            if (!_aggregates.TryGetValue(instrument.Name, out var aggregate))
            {
                aggregate = new Aggregate(instrument is Histogram<long> or Histogram<int> or Histogram<double>, instrument is ObservableGauge<long> or ObservableGauge<int> or ObservableGauge<double>);
                _aggregates[instrument.Name] = aggregate;
            }

            return aggregate;
        }
    }

    private sealed class Aggregate(bool histogram, bool gauge)
    {
        private readonly object _lock = new();
        private long _count;
        private double _sum;
        private double _max = double.MinValue;
        private double _last;

        public void Record(double value)
        {
            lock (_lock)
            {
                _count++;
                _sum += value;
                _max = Math.Max(_max, value);
                _last = value;
            }
        }

        public void AddTo(MetricsReport report, string name)
        {
            lock (_lock)
            {
                if (histogram)
                {
                    report.Add("samsa-meter", name + ".count", _count);
                    report.Add("samsa-meter", name + ".sum", _sum);
                    report.Add("samsa-meter", name + ".max", _count == 0 ? 0 : _max);
                }
                else
                {
                    report.Add("samsa-meter", name, gauge ? _last : _sum);
                }
            }
        }
    }
}
