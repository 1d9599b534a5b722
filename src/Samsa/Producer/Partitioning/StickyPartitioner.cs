using System.Collections.Concurrent;

namespace Samsa;

/// <summary>
/// The Java built-in partitioner's choice for keyless records (KIP-794), and for every record when
/// <c>partitioner.ignore.keys=true</c>: per topic, stay on one partition until at least <c>batch.size</c>
/// bytes have been appended to it, then move to another one chosen at random.
/// </summary>
/// <remarks>
/// Each topic has its own immutable state object, replaced with a compare-and-swap; reading the current
/// partition is a dictionary lookup and a volatile read, and there is no lock shared between topics.
/// The new partition differs from the old one whenever there is more than one candidate (as in the older
/// Java sticky partitioner), and is taken among the partitions with a leader when such a list is given.
/// </remarks>
internal sealed class StickyPartitioner
{
    private readonly int _batchSize;
    private readonly Random? _random;
    private readonly ConcurrentDictionary<string, TopicState> _topics = new(StringComparer.Ordinal);

    /// <param name="batchSize"><c>batch.size</c>: bytes to append to a partition before switching.</param>
    /// <param name="random">For deterministic tests; by default <see cref="Random.Shared"/>.</param>
    public StickyPartitioner(int batchSize, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batchSize);
        _batchSize = batchSize;
        _random = random;
    }

    /// <summary>
    /// The partition the next keyless record for <paramref name="topic"/> should go to.
    /// </summary>
    /// <param name="topic">The record's topic.</param>
    /// <param name="partitionCount">The topic's partition count.</param>
    /// <param name="availablePartitions">Partitions with a leader; empty means all are candidates.</param>
    public int CurrentPartition(string topic, int partitionCount, ReadOnlySpan<int> availablePartitions)
    {
        ArgumentNullException.ThrowIfNull(topic);
        ArgumentOutOfRangeException.ThrowIfLessThan(partitionCount, 1);
        var state = _topics.GetOrAdd(topic, static _ => new TopicState());
        while (true)
        {
            var current = Volatile.Read(ref state.Current);
            if (current.Partition >= 0 && IsCandidate(current.Partition, partitionCount, availablePartitions))
            {
                return current.Partition;
            }

            // No partition yet, a switch is due, or the current one is gone: choose, avoiding the last one.
            var avoid = current.Partition >= 0 ? current.Partition : current.Previous;
            var next = new Sticky(Choose(partitionCount, availablePartitions, avoid), -1);
            if (Interlocked.CompareExchange(ref state.Current, next, current) == current)
            {
                return next.Partition;
            }
        }
    }

    /// <summary>
    /// Records that <paramref name="bytes"/> were appended to <paramref name="partition"/>; once the
    /// topic's current partition has received <c>batch.size</c> bytes, the next record moves on.
    /// </summary>
    public void OnAppended(string topic, int partition, int bytes)
    {
        if (!_topics.TryGetValue(topic, out var state))
        {
            return;
        }

        var current = Volatile.Read(ref state.Current);
        if (current.Partition != partition)
        {
            return; // an append to a partition we have already moved away from
        }

        if (Interlocked.Add(ref current.ProducedBytes, bytes) >= _batchSize)
        {
            // Only the first thread to see the threshold crossed retires this partition.
            Interlocked.CompareExchange(ref state.Current, new Sticky(-1, partition), current);
        }
    }

    private static bool IsCandidate(int partition, int partitionCount, ReadOnlySpan<int> available)
    {
        if (partition >= partitionCount)
        {
            return false;
        }

        // All partitions available is the common case; skip the scan then.
        return available.IsEmpty || available.Length >= partitionCount || available.Contains(partition);
    }

    private int Choose(int partitionCount, ReadOnlySpan<int> available, int avoid)
    {
        var useAvailable = !available.IsEmpty;
        var count = useAvailable ? available.Length : partitionCount;
        if (count == 1)
        {
            return useAvailable ? available[0] : 0;
        }

        var avoidIndex = avoid < 0 ? -1 : useAvailable ? available.IndexOf(avoid) : avoid < partitionCount ? avoid : -1;
        int index;
        if (avoidIndex < 0)
        {
            index = NextInt(count);
        }
        else
        {
            // Pick among the other count - 1 candidates uniformly.
            index = NextInt(count - 1);
            if (index >= avoidIndex)
            {
                index++;
            }
        }

        return useAvailable ? available[index] : index;
    }

    private int NextInt(int maxExclusive)
    {
        if (_random is null)
        {
            return Random.Shared.Next(maxExclusive);
        }

        // A caller-supplied Random is not thread-safe; choices are rare (once per batch), so a lock is cheap.
        lock (_random)
        {
            return _random.Next(maxExclusive);
        }
    }

    private sealed class TopicState
    {
        public Sticky Current = new(-1, -1);
    }

    /// <summary>One stint on a partition; replaced, never reset, when it ends.</summary>
    private sealed class Sticky(int partition, int previous)
    {
        public readonly int Partition = partition;

        /// <summary>The partition before a switch, to avoid choosing it again; -1 if none.</summary>
        public readonly int Previous = previous;

        public long ProducedBytes;
    }
}
