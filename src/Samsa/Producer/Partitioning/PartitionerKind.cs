namespace Samsa;

/// <summary>
/// <c>partitioner.class</c> (Java) or <c>partitioner</c> (librdkafka): which built-in partitioner the producer uses.
/// The librdkafka ones exist so that a service moving from Confluent.Kafka keeps every key on the partition
/// it had: keyed records go where librdkafka puts them. Records without a key are spread by the sticky
/// partitioner (KIP-794) whatever the kind, except with <see cref="Random"/>; librdkafka spreads them
/// randomly too (its sticky partition), so there is no placement of theirs to keep.
/// </summary>
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

    /// <summary>
    /// librdkafka's <c>consistent_random</c>, Confluent.Kafka's default: CRC-32 of the key modulo the partition
    /// count; an empty key is spread like a missing one.
    /// </summary>
    ConsistentRandom,

    /// <summary>librdkafka's <c>consistent</c>: CRC-32 of the key modulo the partition count; an empty key goes to partition 0.</summary>
    Consistent,

    /// <summary>
    /// librdkafka's <c>fnv1a</c> and <c>fnv1a_random</c> (which place keys alike): FNV-1a of the key (Sarama's
    /// variant) modulo the partition count; an empty key is hashed.
    /// </summary>
    Fnv1a,

    /// <summary>librdkafka's <c>random</c>: every record, keyed or not, to a random partition (one with a leader when known).</summary>
    Random,
}
