namespace Samsa;

/// <summary>
/// The choice the Java producer makes for a record (<c>KafkaProducer.partition</c> with no
/// <c>partitioner.class</c>): an explicit partition wins, then the key's murmur2 hash unless
/// <c>partitioner.ignore.keys</c> is set, and otherwise the sticky partition (KIP-794). The librdkafka
/// kinds (<see cref="PartitionerKind"/>) only change the hash of a keyed record.
/// </summary>
internal static class DefaultPartitioner
{
    /// <summary>The partition for one record.</summary>
    /// <param name="topic">The record's topic.</param>
    /// <param name="explicitPartition">The partition given with the record, if any; the producer has checked it.</param>
    /// <param name="key">The serialized key (empty when <paramref name="keyIsNull"/>).</param>
    /// <param name="keyIsNull">True when the record has no key; an empty key is hashed like any other.</param>
    /// <param name="partitionCount">The topic's partition count.</param>
    /// <param name="kind">The built-in partitioner: Java's murmur2 or one of librdkafka's (not round robin, an <see cref="IPartitioner"/>).</param>
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
        PartitionerKind kind,
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

        if (kind == PartitionerKind.Random)
        {
            // As librdkafka's random partitioner, for every record; it prefers a partition with a leader.
            return availablePartitions.IsEmpty ? System.Random.Shared.Next(partitionCount) : availablePartitions[System.Random.Shared.Next(availablePartitions.Length)];
        }

        if (IsSticky(kind, keyIsNull, key.Length, ignoreKeys))
        {
            return sticky.CurrentPartition(topic, partitionCount, availablePartitions, load);
        }

        // A keyed record is hashed over all partitions, available or not, so that a key's partition
        // never depends on which brokers are up.
        return kind switch
        {
            PartitionerKind.ConsistentRandom or PartitionerKind.Consistent => LibrdkafkaHashes.ConsistentPartition(key, partitionCount),
            PartitionerKind.Fnv1a => LibrdkafkaHashes.Fnv1aPartition(key, partitionCount),
            _ => Murmur2.Partition(key, partitionCount),
        };
    }

    /// <summary>
    /// True when a record without an explicit partition goes to the sticky partition: no key (librdkafka too
    /// sends a null key to its sticky partition, whatever the partitioner), keys ignored, or an empty key with
    /// <c>consistent_random</c>. Never with <see cref="PartitionerKind.Random"/>.
    /// </summary>
    public static bool IsSticky(PartitionerKind kind, bool keyIsNull, int keyLength, bool ignoreKeys) =>
        kind != PartitionerKind.Random
        && (keyIsNull || ignoreKeys || (keyLength == 0 && kind == PartitionerKind.ConsistentRandom));
}
