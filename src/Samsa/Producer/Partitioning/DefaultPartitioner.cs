namespace Samsa;

/// <summary>
/// The choice the Java producer makes for a record (<c>KafkaProducer.partition</c> with no
/// <c>partitioner.class</c>): an explicit partition wins, then the key's murmur2 hash unless
/// <c>partitioner.ignore.keys</c> is set, and otherwise the sticky partition (KIP-794).
/// </summary>
internal static class DefaultPartitioner
{
    /// <summary>The partition for one record.</summary>
    /// <param name="topic">The record's topic.</param>
    /// <param name="explicitPartition">The partition given with the record, if any; the producer has checked it.</param>
    /// <param name="key">The serialized key (empty when <paramref name="keyIsNull"/>).</param>
    /// <param name="keyIsNull">True when the record has no key; an empty key is hashed like any other.</param>
    /// <param name="partitionCount">The topic's partition count.</param>
    /// <param name="ignoreKeys"><c>partitioner.ignore.keys</c>.</param>
    /// <param name="sticky">The producer's sticky partitioner.</param>
    /// <param name="availablePartitions">Partitions with a leader, or empty when unknown (then all are candidates).</param>
    /// <param name="load">The partitions' queues and adaptive settings, for the sticky partitioner's next choice.</param>
    public static int Partition<TLoad>(
        string topic,
        int? explicitPartition,
        ReadOnlySpan<byte> key,
        bool keyIsNull,
        int partitionCount,
        bool ignoreKeys,
        StickyPartitioner sticky,
        ReadOnlySpan<int> availablePartitions,
        TLoad load)
        where TLoad : struct, IPartitionLoad
    {
        if (explicitPartition is { } p)
        {
            return p;
        }

        // A keyed record is hashed over all partitions, available or not, so that a key's partition
        // never depends on which brokers are up.
        if (!keyIsNull && !ignoreKeys)
        {
            return Murmur2.Partition(key, partitionCount);
        }

        return sticky.CurrentPartition(topic, partitionCount, availablePartitions, load);
    }
}
