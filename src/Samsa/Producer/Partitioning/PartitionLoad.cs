using Samsa.Producer.Internal;

namespace Samsa;

/// <summary>
/// What adaptive partitioning (KIP-794) reads about a topic's partitions when the sticky
/// partitioner moves on: its settings, and how far behind each partition's leader is.
/// </summary>
/// <remarks>Taken as a generic struct argument, so that the per-record path neither allocates nor calls through an interface.</remarks>
internal interface IPartitionLoad
{
    /// <summary><c>partitioner.adaptive.partitioning.enable</c>.</summary>
    bool Adaptive { get; }

    /// <summary><c>partitioner.availability.timeout.ms</c>; 0 turns the check off.</summary>
    long AvailabilityTimeoutMs { get; }

    /// <summary>Now, on the clock of <see cref="ReadyWaitingSinceMs"/>.</summary>
    long NowMs { get; }

    /// <summary>Batches queued for the partition and not yet sent.</summary>
    int QueuedBatches(int partition);

    /// <summary>Since when the partition has had a batch ready that its leader's sender has not taken; 0 if none.</summary>
    long ReadyWaitingSinceMs(int partition);
}

/// <summary>The load of a topic's partitions as its accumulators see it.</summary>
internal readonly struct AccumulatorLoad(PartitionAccumulator[] partitions, ProducerOptions options) : IPartitionLoad
{
    public bool Adaptive => options.PartitionerAdaptivePartitioningEnable;

    public long AvailabilityTimeoutMs => (long)options.PartitionerAvailabilityTimeout.TotalMilliseconds;

    public long NowMs => MonotonicClock.NowMs;

    // A partition added since the array was read has nothing queued yet.
    public int QueuedBatches(int partition) => partition < partitions.Length ? partitions[partition].QueuedBatches : 0;

    public long ReadyWaitingSinceMs(int partition) => partition < partitions.Length ? partitions[partition].ReadyWaitingSinceMs : 0;
}
