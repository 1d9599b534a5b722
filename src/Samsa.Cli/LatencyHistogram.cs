using System.Diagnostics;
using System.Numerics;

namespace Samsa.Cli;

/// <summary>
/// A preallocated log-linear histogram of latencies in microseconds (exact below 128 µs, then 64 buckets
/// per power of two: under 1.6 % error), safe to record into from several threads without allocating.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int Linear = 128;          // values 0..127 µs have their own bucket
    private const int SubBuckets = 64;       // per power of two above that
    private const int MaxShift = 40;         // up to 2^46 µs; larger values are clamped
    private readonly long[] _counts = new long[Linear + (MaxShift * SubBuckets)];
    private long _count;
    private long _sumMicros;
    private long _maxMicros;

    public long Count => Interlocked.Read(ref _count);

    public long SumMicros => Interlocked.Read(ref _sumMicros);

    public double AverageMs => Count == 0 ? 0 : SumMicros / (double)Count / 1000.0;

    public double MaxMs => Interlocked.Read(ref _maxMicros) / 1000.0;

    /// <summary>Records the time from <paramref name="startTimestamp"/> (a <see cref="Stopwatch"/> timestamp) to now.</summary>
    public void RecordSince(long startTimestamp)
    {
        var ticks = Stopwatch.GetTimestamp() - startTimestamp;
        Record(ticks <= 0 ? 0 : (long)(ticks * (1_000_000.0 / Stopwatch.Frequency)));
    }

    public void Record(long micros)
    {
        if (micros < 0)
        {
            micros = 0;
        }

        Interlocked.Increment(ref _counts[Index(micros)]);
        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _sumMicros, micros);
        var max = Interlocked.Read(ref _maxMicros);
        while (micros > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxMicros, micros, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    /// <summary>The latency at quantile <paramref name="q"/> (0..1) in milliseconds: the upper bound of its bucket, capped at the max.</summary>
    public double PercentileMs(double q)
    {
        var total = Count;
        if (total == 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)Math.Ceiling(q * total));
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Interlocked.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return Math.Min(UpperBound(i), Interlocked.Read(ref _maxMicros)) / 1000.0;
            }
        }

        return MaxMs;
    }

    internal static int Index(long micros)
    {
        if (micros < Linear)
        {
            return (int)micros;
        }

        var shift = BitOperations.Log2((ulong)micros) - 6; // micros >> shift is in [64, 128)
        if (shift > MaxShift)
        {
            return Linear + (MaxShift * SubBuckets) - 1;
        }

        var sub = (int)(micros >> shift);
        return Linear + ((shift - 1) * SubBuckets) + (sub - SubBuckets);
    }

    internal static long UpperBound(int index)
    {
        if (index < Linear)
        {
            return index;
        }

        var shift = ((index - Linear) / SubBuckets) + 1;
        var sub = ((index - Linear) % SubBuckets) + SubBuckets;
        return ((long)(sub + 1) << shift) - 1;
    }
}
