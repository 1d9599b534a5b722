using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Samsa.IntegrationTests.Diagnostics;

/// <summary>
/// The real OpenTelemetry SDK wired as an application would (<c>AddMeter("Samsa")</c>, <c>AddSource("Samsa")</c>),
/// exporting to memory. The meter and activity source are process-wide and other tests produce in parallel,
/// so every read filters by the test producer's client id; spans are sampled only under the test's own
/// parent (or not at all), so records of other tests never get trace headers.
/// </summary>
internal sealed class TelemetryBed : IDisposable
{
    public static readonly ActivitySource TestSource = new("Samsa.IntegrationTests");

    private readonly List<MetricSnapshot> _metrics = [];
    private readonly MeterProvider? _meters;
    private readonly TracerProvider? _tracer;

    public TelemetryBed(bool metrics = true, bool traces = true, Sampler? sampler = null)
    {
        if (metrics)
        {
            _meters = Sdk.CreateMeterProviderBuilder()
                .AddMeter(SamsaTelemetry.MeterName)
                .AddInMemoryExporter(_metrics)
                .Build();
        }

        if (traces)
        {
            _tracer = Sdk.CreateTracerProviderBuilder()
                .AddSource(SamsaTelemetry.ActivitySourceName, TestSource.Name)
                .SetSampler(sampler ?? new TestRootsOnly())
                .AddInMemoryExporter(Spans)
                .Build();
        }
    }

    public List<Activity> Spans { get; } = [];

    /// <summary>Collects now and returns the latest snapshot of each instrument (cumulative temporality).</summary>
    public Dictionary<string, MetricSnapshot> Collect()
    {
        _metrics.Clear();
        _meters!.ForceFlush();
        var latest = new Dictionary<string, MetricSnapshot>();
        foreach (var metric in _metrics)
        {
            latest[metric.Name] = metric;
        }

        return latest;
    }

    /// <summary>The spans Samsa made for <paramref name="clientId"/>'s records.</summary>
    public List<Activity> SendSpans(string clientId)
    {
        _tracer!.ForceFlush();
        lock (Spans)
        {
            return [.. Spans.Where(s => s.Source.Name == SamsaTelemetry.ActivitySourceName && (string?)s.GetTagItem("messaging.client.id") == clientId)];
        }
    }

    public void Dispose()
    {
        _meters?.Dispose();
        _tracer?.Dispose();
    }
}

/// <summary>
/// Samples the test's own root activities and whatever runs under a sampled parent; a root "send" (a record
/// produced by another test, with no parent) is dropped, so other tests' records never carry trace headers.
/// </summary>
internal sealed class TestRootsOnly : Sampler
{
    public override SamplingResult ShouldSample(in SamplingParameters parameters)
    {
        if (parameters.ParentContext.TraceId != default)
        {
            return new SamplingResult((parameters.ParentContext.TraceFlags & ActivityTraceFlags.Recorded) != 0);
        }

        return new SamplingResult(parameters.Name != "send");
    }
}

internal static class MetricPoints
{
    /// <summary>The points of <paramref name="metric"/> recorded by the producer named <paramref name="clientId"/>.</summary>
    public static List<MetricPoint> For(this MetricSnapshot metric, string clientId)
    {
        var points = new List<MetricPoint>();
        foreach (var point in metric.MetricPoints)
        {
            if (Tags(point).TryGetValue("messaging.client.id", out var id) && (string?)id == clientId)
            {
                points.Add(point);
            }
        }

        return points;
    }

    public static Dictionary<string, object?> Tags(this MetricPoint point)
    {
        var tags = new Dictionary<string, object?>();
        foreach (var tag in point.Tags)
        {
            tags[tag.Key] = tag.Value;
        }

        return tags;
    }

    public static List<double> Bounds(this MetricPoint point)
    {
        var bounds = new List<double>();
        foreach (var bucket in point.GetHistogramBuckets())
        {
            if (!double.IsPositiveInfinity(bucket.ExplicitBound))
            {
                bounds.Add(bucket.ExplicitBound);
            }
        }

        return bounds;
    }
}
