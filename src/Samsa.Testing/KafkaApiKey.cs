namespace Samsa.Testing;

/// <summary>
/// Kafka protocol API keys, local to the test kit (Samsa.Testing does not reference Samsa).
/// Only the keys a producer test is likely to need are named; any other key can be passed as a
/// <see cref="short"/> to the <see cref="MockCluster"/> overloads that take one.
/// </summary>
public enum KafkaApiKey : short
{
    Produce = 0,
    Fetch = 1,
    ListOffsets = 2,
    Metadata = 3,
    OffsetCommit = 8,
    OffsetFetch = 9,
    FindCoordinator = 10,
    JoinGroup = 11,
    Heartbeat = 12,
    LeaveGroup = 13,
    SyncGroup = 14,
    SaslHandshake = 17,
    ApiVersions = 18,
    InitProducerId = 22,
    AddPartitionsToTxn = 24,
    AddOffsetsToTxn = 25,
    EndTxn = 26,
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
