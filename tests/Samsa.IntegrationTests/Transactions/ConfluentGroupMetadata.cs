namespace Samsa.IntegrationTests.Transactions;

using Confluent.Kafka;

/// <summary>
/// Builds Samsa's <see cref="Samsa.ConsumerGroupMetadata"/> from a Confluent.Kafka consumer, so that a Confluent consumer
/// and a Samsa transactional producer make an exactly-once pipeline.
/// </summary>
/// <remarks>
/// <para>What Confluent.Kafka 2.14 exposes publicly: the group id and <c>group.instance.id</c> are the consumer's own
/// configuration, and <see cref="IConsumer{TKey, TValue}.MemberId"/> is the member id the coordinator gave it (empty until
/// it joined, i.e. until the first assignment). The generation id is NOT exposed: <c>consumer.ConsumerGroupMetadata</c>
/// returns <see cref="IConsumerGroupMetadata"/>, an empty interface over an internal class that holds librdkafka's
/// serialized form ("CGMDv2:", then the generation, group id, member id and instance id). Reading it would take
/// reflection, which Samsa avoids (Native AOT), so the generation is sent as -1.</para>
/// <para>What that means on a real broker (KIP-447): with generation -1 the group coordinator skips the generation check
/// for TxnOffsetCommit but still rejects a member id it does not know, so a zombie that was removed from the group is
/// still fenced; one that is still a member but of an older generation is not. Applications that need generation
/// fencing should take the generation from their own rebalance bookkeeping and build the metadata themselves.
/// librdkafka's mock cluster checks neither.</para>
/// </remarks>
internal static class ConfluentGroupMetadata
{
    /// <summary>The metadata of <paramref name="consumer"/>, whose configuration was <paramref name="config"/>.</summary>
    public static Samsa.ConsumerGroupMetadata From<TKey, TValue>(IConsumer<TKey, TValue> consumer, ConsumerConfig config)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(config);
        return new Samsa.ConsumerGroupMetadata(config.GroupId, -1, consumer.MemberId ?? "", config.GroupInstanceId);
    }
}
