namespace Samsa.IntegrationTests.Transactions;

using Confluent.Kafka;

/// <summary>
/// Builds Samsa's <see cref="Samsa.ConsumerGroupMetadata"/> from a Confluent.Kafka consumer, so that a Confluent consumer
/// and a Samsa transactional producer make an exactly-once pipeline.
/// </summary>
/// <remarks>
/// <para>What Confluent.Kafka 2.14 exposes publicly: the group id and <c>group.instance.id</c> are the consumer's own
/// configuration, and <see cref="IConsumer{TKey, TValue}.MemberId"/> is the member id the coordinator gave it. The
/// generation id is NOT exposed: <c>consumer.ConsumerGroupMetadata</c> returns <see cref="IConsumerGroupMetadata"/>, an
/// empty interface over an internal class that holds librdkafka's serialized form ("CGMDv2:", then the generation,
/// group id, member id and instance id). Reading it would take reflection, which Samsa avoids (Native AOT).</para>
/// <para>Without the generation, only the group id may be sent (generation -1, no member id, no instance id). A Kafka
/// group coordinator checks a TxnOffsetCommit's member id and generation together: a member id (or instance id) with
/// generation -1 in a group that has members is refused with ILLEGAL_GENERATION (ClassicGroup.validateOffsetCommit),
/// while the group id alone is accepted without membership checks, as Java's old
/// <c>sendOffsetsToTransaction(offsets, groupId)</c> did. That gives up KIP-447's zombie fencing by generation; the
/// transactional id still fences an older producer. Applications that track the generation themselves can pass it
/// with the member id.</para>
/// </remarks>
internal static class ConfluentGroupMetadata
{
    /// <summary>The metadata to send for <paramref name="consumer"/>'s group: its group id only (see the remarks).</summary>
    public static Samsa.ConsumerGroupMetadata From<TKey, TValue>(IConsumer<TKey, TValue> consumer, ConsumerConfig config)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        ArgumentNullException.ThrowIfNull(config);
        return new Samsa.ConsumerGroupMetadata(config.GroupId);
    }
}
