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
/// The next partition is taken among the partitions with a leader when such a list is given. With
/// <c>partitioner.adaptive.partitioning.enable</c> (Java's <c>BuiltInPartitioner</c>), it is drawn with a
/// probability that falls as the partition's queue grows, leaving out partitions whose leader has not taken
/// a ready batch for <c>partitioner.availability.timeout.ms</c>; the queues are read only then, once per switch.
/// When the queues are even, or adaptive partitioning is off, the choice is uniform and differs from the
/// previous partition whenever there is more than one candidate (as in the older Java sticky partitioner).
/// </remarks>
internal sealed class StickyPartitioner
{
    [ThreadStatic]
    private static int[]? t_ids;

    [ThreadStatic]
    private static int[]? t_queues;

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
    /// <param name="load">The partitions' queues and the adaptive settings, read only when switching.</param>
    public int CurrentPartition<TLoad>(string topic, int partitionCount, ReadOnlySpan<int> availablePartitions, TLoad load)
        where TLoad : struct, IPartitionLoad
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
            var next = new Sticky(ChooseNext(partitionCount, availablePartitions, avoid, load), -1);
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

    // This thread's arrays, grown as needed, for topics with more partitions than the stack takes: a new pair per
    // switch was most of what a keyless producer to 300 partitions allocated (2.4 KB every batch.size bytes).
    private static Span<int> Scratch(ref int[]? array, int length)
    {
        if (array is null || array.Length < length)
        {
            array = new int[length];
        }

        return array.AsSpan(0, length);
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

    private int ChooseNext<TLoad>(int partitionCount, ReadOnlySpan<int> available, int avoid, TLoad load)
        where TLoad : struct, IPartitionLoad
    {
        if (!load.Adaptive)
        {
            return Choose(partitionCount, available, avoid);
        }

        var candidates = available.IsEmpty ? partitionCount : available.Length;
        var ids = candidates <= 256 ? stackalloc int[candidates] : Scratch(ref t_ids, candidates);
        var queues = candidates <= 256 ? stackalloc int[candidates] : Scratch(ref t_queues, candidates);
        var timeoutMs = load.AvailabilityTimeoutMs;
        var waitingBefore = timeoutMs > 0 ? load.NowMs - timeoutMs : long.MinValue;
        var count = 0;
        for (var i = 0; i < candidates; i++)
        {
            var partition = available.IsEmpty ? i : available[i];

            // A leader that has left a ready batch untaken for longer than the timeout is not keeping
            // up (RecordAccumulator.partitionReady): send it nothing new.
            var waitingSince = load.ReadyWaitingSinceMs(partition);
            if (waitingSince != 0 && waitingSince < waitingBefore)
            {
                continue;
            }

            ids[count] = partition;
            queues[count] = load.QueuedBatches(partition);
            count++;
        }

        // Every candidate is lagging: Java then falls back to all partitions with a leader.
        if (count == 0)
        {
            return Choose(partitionCount, available, avoid);
        }

        ids = ids[..count];
        queues = queues[..count];
        var longest = queues[0];
        var even = true;
        foreach (var queued in queues)
        {
            even &= queued == queues[0];
            longest = Math.Max(longest, queued);
        }

        if (even)
        {
            return Choose(partitionCount, ids, avoid);
        }

        // BuiltInPartitioner.updatePartitionLoadStats: weight each partition by (longest + 1 - its
        // queue), so the longest queue still gets a chance and an empty one the most, and draw from
        // the cumulative weights.
        var total = 0;
        for (var i = 0; i < count; i++)
        {
            total += longest + 1 - queues[i];
            queues[i] = total;
        }

        var draw = NextInt(total);
        for (var i = 0; i < count; i++)
        {
            if (draw < queues[i])
            {
                return ids[i];
            }
        }

        return ids[count - 1];
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
