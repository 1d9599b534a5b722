namespace Samsa;

/// <summary><c>partitioner.class</c>: which built-in partitioner the producer uses.</summary>
public enum PartitionerKind
{
    /// <summary>
    /// Java's built-in partitioner (KIP-794): a keyed record goes to <c>murmur2(key) % partitions</c>; a keyless
    /// record (or any record with <c>partitioner.ignore.keys=true</c>) sticks to one partition until
    /// <c>batch.size</c> bytes have gone to it, then moves to another.
    /// </summary>
    Default,

    /// <summary>
    /// <c>org.apache.kafka.clients.producer.RoundRobinPartitioner</c>: each record to the next partition, keys ignored.
    /// </summary>
    RoundRobin,
}
