using System.Buffers.Binary;
using System.Text;

namespace Samsa.Diagnostics;

/// <summary>One metric for a KIP-714 push: a gauge or a monotonic sum, with its data points.</summary>
internal sealed record PushedMetric(string Name, string Description, string Unit, bool IsSum, List<PushedPoint> Points);

/// <summary>One data point: string attributes (KIP-714 labels, e.g. <c>node_id</c>) and a value, whole or not.</summary>
internal readonly record struct PushedPoint(KeyValuePair<string, string>[] Attributes, double Value, bool IsInteger, long StartUnixNanos, long TimeUnixNanos);

/// <summary>
/// Encodes OpenTelemetry's <c>MetricsData</c> (opentelemetry/proto/metrics/v1/metrics.proto) as protobuf, which is
/// what a KIP-714 PushTelemetry request carries. Only what Samsa sends is written: one resource, one scope, gauges
/// and sums of number data points. Hand-written (a few dozen lines of protobuf wire format) so the library needs
/// no protobuf package.
/// </summary>
internal static class OtlpMetricsWriter
{
    // Field numbers from metrics.proto, common.proto and resource.proto.
    private const int MetricsDataResourceMetrics = 1;
    private const int ResourceMetricsResource = 1, ResourceMetricsScopeMetrics = 2;
    private const int ResourceAttributes = 1;
    private const int ScopeMetricsScope = 1, ScopeMetricsMetrics = 2;
    private const int ScopeName = 1, ScopeVersion = 2;
    private const int MetricName = 1, MetricDescription = 2, MetricUnit = 3, MetricGauge = 5, MetricSum = 7;
    private const int GaugeDataPoints = 1;
    private const int SumDataPoints = 1, SumTemporality = 2, SumIsMonotonic = 3;
    private const int PointStartTime = 2, PointTime = 3, PointAsDouble = 4, PointAsInt = 6, PointAttributes = 7;
    private const int KeyValueKey = 1, KeyValueValue = 2;
    private const int AnyValueString = 1;

    /// <summary>AggregationTemporality: DELTA = 1, CUMULATIVE = 2.</summary>
    public static byte[] Write(IReadOnlyList<KeyValuePair<string, string>> resource, string scopeName, string? scopeVersion, IReadOnlyList<PushedMetric> metrics, bool delta)
    {
        var scope = new Message();
        scope.String(ScopeName, scopeName);
        if (scopeVersion is not null)
        {
            scope.String(ScopeVersion, scopeVersion);
        }

        var scopeMetrics = new Message();
        scopeMetrics.Embedded(ScopeMetricsScope, scope);
        foreach (var metric in metrics)
        {
            var m = new Message();
            m.String(MetricName, metric.Name);
            m.String(MetricDescription, metric.Description);
            m.String(MetricUnit, metric.Unit);
            var data = new Message();
            foreach (var point in metric.Points)
            {
                data.Embedded(metric.IsSum ? SumDataPoints : GaugeDataPoints, Point(point));
            }

            if (metric.IsSum)
            {
                data.Varint(SumTemporality, delta ? 1UL : 2UL);
                data.Varint(SumIsMonotonic, 1);
            }

            m.Embedded(metric.IsSum ? MetricSum : MetricGauge, data);
            scopeMetrics.Embedded(ScopeMetricsMetrics, m);
        }

        var resourceMessage = new Message();
        foreach (var attribute in resource)
        {
            resourceMessage.Embedded(ResourceAttributes, KeyValue(attribute));
        }

        var resourceMetrics = new Message();
        resourceMetrics.Embedded(ResourceMetricsResource, resourceMessage);
        resourceMetrics.Embedded(ResourceMetricsScopeMetrics, scopeMetrics);
        var root = new Message();
        root.Embedded(MetricsDataResourceMetrics, resourceMetrics);
        return root.ToArray();
    }

    private static Message Point(in PushedPoint point)
    {
        var p = new Message();
        if (point.StartUnixNanos > 0)
        {
            p.Fixed64(PointStartTime, (ulong)point.StartUnixNanos);
        }

        p.Fixed64(PointTime, (ulong)point.TimeUnixNanos);
        if (point.IsInteger)
        {
            p.Fixed64(PointAsInt, (ulong)(long)point.Value);
        }
        else
        {
            p.Fixed64(PointAsDouble, BitConverter.DoubleToUInt64Bits(point.Value));
        }

        foreach (var attribute in point.Attributes)
        {
            p.Embedded(PointAttributes, KeyValue(attribute));
        }

        return p;
    }

    private static Message KeyValue(KeyValuePair<string, string> attribute)
    {
        var value = new Message();
        value.String(AnyValueString, attribute.Value);
        var kv = new Message();
        kv.String(KeyValueKey, attribute.Key);
        kv.Embedded(KeyValueValue, value);
        return kv;
    }

    /// <summary>A protobuf message being built: fields appended in order, nested messages length-prefixed.</summary>
    private sealed class Message
    {
        private readonly List<byte> _bytes = [];

        public void Varint(int field, ulong value)
        {
            Tag(field, 0);
            WriteVarint(value);
        }

        public void Fixed64(int field, ulong value)
        {
            Tag(field, 1);
            Span<byte> b = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(b, value);
            foreach (var x in b)
            {
                _bytes.Add(x);
            }
        }

        public void String(int field, string value)
        {
            var utf8 = Encoding.UTF8.GetBytes(value);
            Tag(field, 2);
            WriteVarint((ulong)utf8.Length);
            _bytes.AddRange(utf8);
        }

        public void Embedded(int field, Message message)
        {
            Tag(field, 2);
            WriteVarint((ulong)message._bytes.Count);
            _bytes.AddRange(message._bytes);
        }

        public byte[] ToArray() => [.. _bytes];

        private void Tag(int field, int wireType) => WriteVarint(((ulong)field << 3) | (uint)wireType);

        private void WriteVarint(ulong value)
        {
            while (value >= 0x80)
            {
                _bytes.Add((byte)(value | 0x80));
                value >>= 7;
            }

            _bytes.Add((byte)value);
        }
    }
}
