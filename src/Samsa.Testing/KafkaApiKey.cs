namespace Samsa.Testing;

/// <summary>
/// Kafka protocol API keys, local to the test kit (Samsa.Testing does not reference Samsa).
/// Only the keys a producer test is likely to need are named; any other key can be passed as a
/// <see cref="short"/> to the <see cref="MockCluster"/> overloads that take one.
/// </summary>
public enum KafkaApiKey : short
{
    /// <summary>Produce: record batches for partitions.</summary>
    Produce = 0,

    /// <summary>Fetch: records read by consumers and followers.</summary>
    Fetch = 1,

    /// <summary>ListOffsets: offsets by timestamp.</summary>
    ListOffsets = 2,

    /// <summary>Metadata: brokers, topics, partitions and their leaders.</summary>
    Metadata = 3,

    /// <summary>OffsetCommit: a consumer group commits offsets.</summary>
    OffsetCommit = 8,

    /// <summary>OffsetFetch: a consumer group reads its committed offsets.</summary>
    OffsetFetch = 9,

    /// <summary>FindCoordinator: the group or transaction coordinator.</summary>
    FindCoordinator = 10,

    /// <summary>JoinGroup: a consumer joins a group.</summary>
    JoinGroup = 11,

    /// <summary>Heartbeat: a group member stays alive.</summary>
    Heartbeat = 12,

    /// <summary>LeaveGroup: a member leaves its group.</summary>
    LeaveGroup = 13,

    /// <summary>SyncGroup: the group's assignment is shared.</summary>
    SyncGroup = 14,

    /// <summary>SaslHandshake: the SASL mechanism is chosen.</summary>
    SaslHandshake = 17,

    /// <summary>ApiVersions: the versions each API supports.</summary>
    ApiVersions = 18,

    /// <summary>InitProducerId: a producer id and epoch (idempotence, transactions).</summary>
    InitProducerId = 22,

    /// <summary>AddPartitionsToTxn: partitions join a transaction.</summary>
    AddPartitionsToTxn = 24,

    /// <summary>AddOffsetsToTxn: a group's offsets join a transaction.</summary>
    AddOffsetsToTxn = 25,

    /// <summary>EndTxn: a transaction commits or aborts.</summary>
    EndTxn = 26,

    /// <summary>TxnOffsetCommit: offsets committed within a transaction.</summary>
    TxnOffsetCommit = 28,
}

/// <summary>A request the mock cluster received while request tracking was on.</summary>
/// <param name="BrokerId">The mock broker it was sent to (ids start at 1).</param>
/// <param name="ApiKey">The request's API key (e.g. 0 = Produce).</param>
/// <param name="TimestampMicros">When it arrived, in microseconds on librdkafka's monotonic clock
/// (only meaningful relative to other requests).</param>
public readonly record struct MockRequest(int BrokerId, short ApiKey, long TimestampMicros)
{
    /// <summary>The API key as a <see cref="KafkaApiKey"/> (may be an unnamed value).</summary>
    public KafkaApiKey Api => (KafkaApiKey)ApiKey;
}
