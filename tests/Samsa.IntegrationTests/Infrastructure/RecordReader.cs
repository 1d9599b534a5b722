namespace Samsa.IntegrationTests.Infrastructure;

using Confluent.Kafka;

/// <summary>A record as decoded by Confluent.Kafka's consumer (librdkafka's CRC checks and decompression).</summary>
public sealed record ConsumedRecord(
    string Topic,
    int Partition,
    long Offset,
    byte[]? Key,
    byte[]? Value,
    IReadOnlyList<(string Key, byte[]? Value)> Headers,
    long TimestampMs,
    TimestampType TimestampType);

/// <summary>
/// The independent reader: reads back what a producer wrote with Confluent.Kafka's consumer
/// (<c>check.crcs=true</c>, explicit assignment from the start, a unique group id, no commits).
/// Timeouts here bound waits; they are never assertions.
/// </summary>
public static class RecordReader
{
    /// <summary>Default bound on how long a read may wait.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Reads every partition of <paramref name="topic"/> from offset 0 until
    /// <paramref name="expectedCount"/> records arrived or <paramref name="timeout"/> passed, and returns
    /// what it got (possibly fewer, so that the caller's assertion shows the difference), ordered by
    /// partition, then offset. Records beyond the expected count that arrive in the same poll are kept.
    /// <paramref name="security"/>: librdkafka settings added to the consumer's (e.g. <c>security.protocol=SSL</c>
    /// and <c>ssl.ca.location</c>, to read through a <see cref="Samsa.Testing.Tls.TlsFront"/>, or SASL settings, to read
    /// through a <see cref="Samsa.Testing.Security.SaslFront"/>). <paramref name="isolation"/>: the consumer's
    /// <c>isolation.level</c> (null: librdkafka's default, read_committed), for transactional topics.
    /// </summary>
    public static IReadOnlyList<ConsumedRecord> ReadAll(
        string bootstrapServers, string topic, int expectedCount, TimeSpan? timeout = null, IEnumerable<KeyValuePair<string, string>>? security = null,
        IsolationLevel? isolation = null)
    {
        ConfluentLoader.EnsureLoaded();
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        var partitions = GetPartitions(bootstrapServers, topic, timeout ?? DefaultTimeout, security);

        using var consumer = CreateConsumer(bootstrapServers, partitionEof: false, security, isolation);
        consumer.Assign(partitions.Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));

        var records = new List<ConsumedRecord>();
        while (records.Count < expectedCount)
        {
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                break;
            }

            var result = consumer.Consume(remaining < TimeSpan.FromMilliseconds(500) ? remaining : TimeSpan.FromMilliseconds(500));
            if (result?.Message is not null)
            {
                records.Add(ToRecord(result));
            }
        }

        consumer.Close();
        return Order(records);
    }

    /// <summary>
    /// Reads exactly what is in one partition: queries its watermarks, then reads from the low
    /// watermark up to (not including) the high watermark. Throws <see cref="TimeoutException"/> if that
    /// is not reached within <paramref name="timeout"/>. <paramref name="isolation"/>: as for <see cref="ReadAll"/>; at
    /// read_committed the watermark is the last stable offset, and the read ends at the partition's end as the consumer sees it.
    /// </summary>
    public static IReadOnlyList<ConsumedRecord> ReadPartition(string bootstrapServers, string topic, int partition, TimeSpan? timeout = null, IsolationLevel? isolation = null)
    {
        ConfluentLoader.EnsureLoaded();
        var bound = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + bound;
        var tp = new TopicPartition(topic, partition);

        using var consumer = CreateConsumer(bootstrapServers, partitionEof: true, isolation: isolation);
        var watermarks = consumer.QueryWatermarkOffsets(tp, bound);
        var records = new List<ConsumedRecord>();
        if (watermarks.High.Value <= watermarks.Low.Value)
        {
            return records;
        }

        consumer.Assign(new TopicPartitionOffset(tp, watermarks.Low));
        while (true)
        {
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                throw new TimeoutException(
                    $"{topic}[{partition}]: read {records.Count} records, did not reach high watermark {watermarks.High.Value} within {bound}.");
            }

            var result = consumer.Consume(remaining < TimeSpan.FromMilliseconds(500) ? remaining : TimeSpan.FromMilliseconds(500));
            if (result is null)
            {
                continue;
            }

            if (result.Message is not null && !result.IsPartitionEOF && result.Offset.Value < watermarks.High.Value)
            {
                records.Add(ToRecord(result));
            }

            if (result.Offset.Value >= watermarks.High.Value - (result.IsPartitionEOF ? 0 : 1))
            {
                break;
            }
        }

        consumer.Close();
        return records;
    }

    /// <summary>The partition ids of <paramref name="topic"/>, from a metadata request.</summary>
    public static IReadOnlyList<int> GetPartitions(string bootstrapServers, string topic, TimeSpan timeout, IEnumerable<KeyValuePair<string, string>>? security = null)
    {
        ConfluentLoader.EnsureLoaded();
        var config = new AdminClientConfig { BootstrapServers = bootstrapServers };
        foreach (var (key, value) in security ?? [])
        {
            config.Set(key, value);
        }

        using var admin = new AdminClientBuilder(config).SetLogHandler(static (_, _) => { }).Build();
        var metadata = admin.GetMetadata(topic, timeout);
        var topicMetadata = metadata.Topics.Single(t => t.Topic == topic);
        if (topicMetadata.Error.IsError)
        {
            throw new InvalidOperationException($"Metadata for {topic}: {topicMetadata.Error}");
        }

        return [.. topicMetadata.Partitions.Select(p => p.PartitionId).Order()];
    }

    private static IConsumer<byte[]?, byte[]?> CreateConsumer(
        string bootstrapServers, bool partitionEof, IEnumerable<KeyValuePair<string, string>>? security = null, IsolationLevel? isolation = null)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "samsa-reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            CheckCrcs = true,
            EnablePartitionEof = partitionEof,
            IsolationLevel = isolation,
        };
        foreach (var (key, value) in security ?? [])
        {
            config.Set(key, value);
        }

        return new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetKeyDeserializer(Deserializers.ByteArray!)
            .SetValueDeserializer(Deserializers.ByteArray!)
            .SetLogHandler(static (_, _) => { })
            .SetErrorHandler(static (_, _) => { })
            .Build();
    }

    private static ConsumedRecord ToRecord(ConsumeResult<byte[]?, byte[]?> result)
    {
        var message = result.Message;
        var headers = message.Headers is null
            ? []
            : message.Headers.Select(h => (h.Key, (byte[]?)h.GetValueBytes())).ToList();
        return new ConsumedRecord(
            result.Topic,
            result.Partition.Value,
            result.Offset.Value,
            message.Key,
            message.Value,
            headers,
            message.Timestamp.UnixTimestampMs,
            message.Timestamp.Type);
    }

    private static List<ConsumedRecord> Order(List<ConsumedRecord> records) =>
        [.. records.OrderBy(r => r.Partition).ThenBy(r => r.Offset)];
}
