using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Samsa;

/// <summary>
/// Java's <c>RoundRobinPartitioner</c>: keeps a counter per topic and sends each record to the next partition,
/// starting at 0, whatever its key.
/// </summary>
/// <remarks>
/// Unlike Java's, it cycles over all partitions rather than only those that currently have a leader,
/// because <see cref="IPartitioner"/> is given only the partition count.
/// </remarks>
public sealed class RoundRobinPartitioner : IPartitioner
{
    private readonly ConcurrentDictionary<string, StrongBox<int>> _counters = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public int Partition(string topic, ReadOnlySpan<byte> key, bool keyIsNull, int partitionCount)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        var counter = _counters.GetOrAdd(topic, static _ => new StrongBox<int>(0));
        // Java takes getAndIncrement(); the counter wraps, and toPositive keeps it usable after it does.
        var next = Interlocked.Increment(ref counter.Value) - 1;
        return Murmur2.ToPositive(next) % partitionCount;
    }
}
