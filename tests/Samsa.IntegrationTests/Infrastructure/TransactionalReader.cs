namespace Samsa.IntegrationTests.Infrastructure;

using Confluent.Kafka;
using TransactionOracle = Samsa.Testing.Proxy.TransactionOracle;
using TransactionOutcome = Samsa.Testing.Proxy.TransactionOutcome;

/// <summary>
/// Reads back a topic that transactional producers wrote, with Confluent.Kafka's consumer, and classifies every record
/// by what a real broker would have made of its transaction (<see cref="TransactionOracle.OutcomeOf"/>).
/// </summary>
/// <remarks>
/// Two quirks of librdkafka 2.16's mock cluster shape this reader (measured; Samsa.Testing's README, "Transactions on the mock"):
/// <list type="bullet">
/// <item>it writes the transaction markers (control batches) with CRC 0, so <c>check.crcs=true</c> fails at the first
/// marker: this reader runs with <c>check.crcs=false</c>;</item>
/// <item>its Fetch answers carry no aborted-transaction list and a last stable offset equal to the high watermark, so a
/// read_committed consumer sees aborted and open transactions' records too: the committed view comes from the
/// oracle, and the consumer's own read_committed result is returned only to show that.</item>
/// </list>
/// </remarks>
public static class TransactionalReader
{
    /// <summary>A record read back, with its offset and the outcome of its transaction.</summary>
    public sealed record Classified(int Partition, long Offset, string? Key, string? Value, TransactionOutcome Outcome);

    /// <summary>
    /// Reads every partition of <paramref name="topic"/> from its low to its high watermark at
    /// <paramref name="isolation"/> and classifies each record with <paramref name="oracle"/> (or as
    /// <see cref="TransactionOutcome.NotTransactional"/> without one). Ordered by partition, then offset.
    /// </summary>
    public static IReadOnlyList<Classified> Read(string bootstrapServers, string topic, IsolationLevel isolation, TransactionOracle? oracle, TimeSpan? timeout = null)
    {
        ConfluentLoader.EnsureLoaded();
        var bound = timeout ?? RecordReader.DefaultTimeout;
        var deadline = DateTime.UtcNow + bound;
        var result = new List<Classified>();
        using var consumer = new ConsumerBuilder<string?, string?>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "samsa-txn-reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            IsolationLevel = isolation,
            CheckCrcs = false, // the mock's transaction markers carry CRC 0
            EnablePartitionEof = true,
        }).SetLogHandler(static (_, _) => { }).SetErrorHandler(static (_, _) => { }).Build();

        foreach (var partition in RecordReader.GetPartitions(bootstrapServers, topic, bound))
        {
            var tp = new TopicPartition(topic, partition);
            var watermarks = consumer.QueryWatermarkOffsets(tp, bound);
            if (watermarks.High.Value <= watermarks.Low.Value)
            {
                continue;
            }

            consumer.Assign(new TopicPartitionOffset(tp, watermarks.Low));
            while (true)
            {
                var remaining = deadline - DateTime.UtcNow;
                if (remaining <= TimeSpan.Zero)
                {
                    throw new TimeoutException($"{tp}: did not reach the end (high watermark {watermarks.High.Value}) within {bound}.");
                }

                var r = consumer.Consume(remaining < TimeSpan.FromMilliseconds(500) ? remaining : TimeSpan.FromMilliseconds(500));
                if (r is null)
                {
                    continue;
                }

                if (r.IsPartitionEOF)
                {
                    break; // a marker may be the last offset, so the end is EOF, not the last record
                }

                result.Add(new Classified(partition, r.Offset.Value, r.Message.Key, r.Message.Value,
                    oracle?.OutcomeOf(topic, partition, r.Offset.Value) ?? TransactionOutcome.NotTransactional));
            }

            consumer.Unassign();
        }

        consumer.Close();
        return result;
    }
}
