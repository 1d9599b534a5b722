namespace Samsa;

/// <summary>
/// A consumer position to commit in a transaction (<see cref="IProducer{TKey, TValue}.SendOffsetsToTransactionAsync"/>):
/// the offset of the next record to consume, that is the last processed record's offset plus one, as Kafka
/// commits offsets. From a Confluent.Kafka consumer: <c>new TopicPartitionOffset(result.Topic, result.Partition.Value, result.Offset.Value + 1)</c>.
/// </summary>
/// <param name="Topic">The consumed topic.</param>
/// <param name="Partition">The consumed partition.</param>
/// <param name="Offset">The next offset to consume (last processed + 1).</param>
/// <param name="LeaderEpoch">The leader epoch of the last processed record, where the consumer knows it (KIP-320); null otherwise.</param>
public sealed record TopicPartitionOffset(string Topic, int Partition, long Offset, int? LeaderEpoch = null);

/// <summary>
/// The consumer group whose offsets a transaction commits (<see cref="IProducer{TKey, TValue}.SendOffsetsToTransactionAsync"/>).
/// With the member id and generation of the consumer that read the records, the coordinator refuses the commit from a
/// consumer that has lost its partitions to a rebalance (KIP-447); with only the group id (generation -1, empty member id,
/// no instance id) it does not check membership. A member id without its generation is refused (ILLEGAL_GENERATION) by a
/// group that has members, so from a Confluent.Kafka consumer, which does not expose its generation, pass the group id
/// alone: <c>new ConsumerGroupMetadata(groupId)</c>. The transactional id still fences an older producer.
/// </summary>
/// <param name="GroupId">The consumer group id (<c>group.id</c>).</param>
/// <param name="GenerationId">The group generation the consumer is in, or -1 for none.</param>
/// <param name="MemberId">The consumer's member id in the group, or empty for none.</param>
/// <param name="GroupInstanceId">The consumer's <c>group.instance.id</c> (static membership), or null.</param>
public sealed record ConsumerGroupMetadata(string GroupId, int GenerationId = -1, string MemberId = "", string? GroupInstanceId = null);
