using System.Collections.Concurrent;
using System.Globalization;

namespace Samsa.Diagnostics;

/// <summary>
/// What a KIP-714 push reports, gathered only while a broker subscribes to some metric: the same events the
/// <c>Samsa</c> meter records (<see cref="ProducerTelemetry"/> feeds both), kept as average/max windows that each
/// push reads and starts again. The record totals are read from <paramref name="totals"/>, counted from the
/// producer's start: a cumulative sum is the count since the client started, as in the Java client, however late
/// the subscription came, and the first delta holds every record before it. Names are KIP-714's standard producer
/// metrics (<c>org.apache.kafka.producer.*</c>, from the Java client's metric names) plus a few more Java ones.
/// </summary>
internal sealed class PushMetrics(RecordTotals totals, Func<long> connectionsCreated, Func<(long Used, long Limit)> buffer)
{
    public const string Prefix = "org.apache.kafka.producer.";

    private readonly Window _throttle = new();
    private readonly Window _queueTime = new();
    private readonly ConcurrentDictionary<int, Window> _nodeLatency = new();
    private readonly long _startUnixNanos = totals.StartUnixNanos;
    private long _lastPushUnixNanos;
    private long _lastConnections;
    private readonly Dictionary<string, long> _lastTotals = new(StringComparer.Ordinal);

    public void Throttle(int ms) => _throttle.Add(ms);

    public void QueueTime(long ms) => _queueTime.Add(ms);

    public void NodeLatency(int nodeId, double ms) => _nodeLatency.GetOrAdd(nodeId, static _ => new Window()).Add(ms);

    /// <summary>
    /// The metrics whose name starts with one of <paramref name="requested"/> (an empty string matches all, as KIP-714
    /// says), as of now. Windows start again; with <paramref name="delta"/> sums count from the last push.
    /// Called by the one push loop only.
    /// </summary>
    public List<PushedMetric> Collect(IReadOnlyList<string> requested, bool delta)
    {
        var now = UnixNanosNow();
        var since = _lastPushUnixNanos == 0 ? _startUnixNanos : _lastPushUnixNanos;
        var seconds = Math.Max(1e-3, (now - since) / 1e9);
        var metrics = new List<PushedMetric>();

        var connections = connectionsCreated();
        Gauge(metrics, requested, "connection.creation.rate", "New connections established per second in the window.", "{connection}/s", (connections - _lastConnections) / seconds, integer: false, now);
        _lastConnections = connections;
        Sum(metrics, requested, "connection.creation.total", "Total new connections established.", "{connection}", connections, delta, since, now);

        var latencies = new List<PushedPoint>();
        var latencyMax = new List<PushedPoint>();
        foreach (var (node, window) in _nodeLatency)
        {
            if (window.Take() is { } w)
            {
                KeyValuePair<string, string>[] labels = [new("node_id", node.ToString(CultureInfo.InvariantCulture))];
                latencies.Add(new PushedPoint(labels, w.Avg, false, 0, now));
                latencyMax.Add(new PushedPoint(labels, w.Max, false, 0, now));
            }
        }

        Add(metrics, requested, "node.request.latency.avg", "Average request latency in ms for a node.", "ms", isSum: false, latencies);
        Add(metrics, requested, "node.request.latency.max", "Maximum request latency in ms for a node.", "ms", isSum: false, latencyMax);

        if (_throttle.Take() is { } throttle)
        {
            Gauge(metrics, requested, "produce.throttle.time.avg", "Average time in ms a request was throttled by a broker.", "ms", throttle.Avg, integer: false, now);
            Gauge(metrics, requested, "produce.throttle.time.max", "Maximum time in ms a request was throttled by a broker.", "ms", throttle.Max, integer: false, now);
        }

        if (_queueTime.Take() is { } queue)
        {
            Gauge(metrics, requested, "record.queue.time.avg", "Average time in ms record batches spent in the send buffer.", "ms", queue.Avg, integer: false, now);
            Gauge(metrics, requested, "record.queue.time.max", "Maximum time in ms record batches spent in the send buffer.", "ms", queue.Max, integer: false, now);
        }

        Sum(metrics, requested, "record.send.total", "Total records sent (acknowledged).", "{record}", totals.Sent, delta, since, now);
        Sum(metrics, requested, "record.error.total", "Total records that failed for good.", "{record}", totals.Failed, delta, since, now);
        Sum(metrics, requested, "record.retry.total", "Total records sent again after a failed attempt.", "{record}", totals.Retried, delta, since, now);

        var (used, limit) = buffer();
        Gauge(metrics, requested, "buffer.total.bytes", "buffer.memory: bytes the producer may hold.", "By", limit, integer: true, now);
        Gauge(metrics, requested, "buffer.available.bytes", "Bytes of buffer.memory not in use.", "By", Math.Max(0, limit - used), integer: true, now);

        _lastPushUnixNanos = now;
        return metrics;
    }

    private static bool Wanted(IReadOnlyList<string> requested, string fullName)
    {
        foreach (var prefix in requested)
        {
            if (fullName.StartsWith(prefix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static void Gauge(List<PushedMetric> metrics, IReadOnlyList<string> requested, string name, string description, string unit, double value, bool integer, long now) =>
        Add(metrics, requested, name, description, unit, isSum: false, [new PushedPoint([], value, integer, 0, now)]);

    private void Sum(List<PushedMetric> metrics, IReadOnlyList<string> requested, string name, string description, string unit, long total, bool delta, long since, long now)
    {
        var value = total;
        if (delta)
        {
            value = total - _lastTotals.GetValueOrDefault(name);
            _lastTotals[name] = total;
        }

        Add(metrics, requested, name, description, unit, isSum: true, [new PushedPoint([], value, true, delta ? since : _startUnixNanos, now)]);
    }

    private static void Add(List<PushedMetric> metrics, IReadOnlyList<string> requested, string name, string description, string unit, bool isSum, List<PushedPoint> points)
    {
        var fullName = Prefix + name;
        if (points.Count > 0 && Wanted(requested, fullName))
        {
            metrics.Add(new PushedMetric(fullName, description, unit, isSum, points));
        }
    }

    public static long UnixNanosNow() => (DateTime.UtcNow.Ticks - DateTime.UnixEpoch.Ticks) * 100;

    /// <summary>Average and maximum since the last push; a small lock, taken only while pushing is on.</summary>
    private sealed class Window
    {
        private double _sum;
        private double _max;
        private long _count;

        public void Add(double value)
        {
            lock (this)
            {
                _sum += value;
                _count++;
                _max = _count == 1 ? value : Math.Max(_max, value);
            }
        }

        public (double Avg, double Max)? Take()
        {
            lock (this)
            {
                if (_count == 0)
                {
                    return null;
                }

                var result = (_sum / _count, _max);
                (_sum, _max, _count) = (0, 0, 0);
                return result;
            }
        }
    }
}
