using System.Text;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;
using Ck = Confluent.Kafka;

namespace Samsa.IntegrationTests.Transactions;

/// <summary>
/// The blocking twins of the transaction calls (<c>InitTransactions</c>, <c>SendOffsetsToTransaction</c>,
/// <c>CommitTransaction</c>, <c>AbortTransaction</c> with a <see cref="TimeSpan"/>), as Confluent.Kafka's users call them:
/// a whole cycle, read back at both isolation levels, and what a twin does when the coordinator's answer does not come
/// within its timeout.
/// </summary>
public sealed class BlockingTransactionTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task AWholeCycleThroughTheBlockingTwinsCommitsRecordsAndOffsetsTogetherAndAbortsBoth()
    {
        const string topic = "blocking-cycle";
        const string input = "blocking-cycle-in";
        var group = "blocking-g-" + Guid.NewGuid().ToString("N");
        await using var cluster = FrontedCluster.Start(TransactionTests.StartCluster(topic, 1));
        cluster.Mock.CreateTopic(input, 1);
        using var producer = new ProducerBuilder<string, string>(new ProducerOptions
        {
            BootstrapServers = cluster.Proxy.BootstrapServers.Split(','),
            TransactionalId = "blocking-cycle-1",
            RetryBackoff = TimeSpan.FromMilliseconds(20),
        }).Build();

        producer.InitTransactions(Bound);
        producer.BeginTransaction();
        producer.Produce(new ProducerRecord<string, string>(topic, "k", "committed"));
        producer.SendOffsetsToTransaction([new TopicPartitionOffset(input, 0, 7)], new ConsumerGroupMetadata(group), Bound);
        producer.CommitTransaction(Bound);

        producer.BeginTransaction();
        producer.Produce(new ProducerRecord<string, string>(topic, "k", "aborted"));
        Assert.True(producer.Flush(Bound)); // on the broker before the abort: its marker must hide it
        producer.SendOffsetsToTransaction([new TopicPartitionOffset(input, 0, 9)], new ConsumerGroupMetadata(group), Bound);
        producer.AbortTransaction(Bound);

        Assert.Equal(["committed"], Values(cluster, topic, Ck.IsolationLevel.ReadCommitted));
        Assert.Equal(["committed", "aborted"], Values(cluster, topic, Ck.IsolationLevel.ReadUncommitted));
        Assert.Equal(7L, cluster.Committed(group, new Ck.TopicPartition(input, 0), Bound).Value);
        Assert.Equal(1, cluster.Front.CommittedTransactions);
        Assert.Equal(1, cluster.Front.AbortedTransactions);
        cluster.Proxy.Transactions.Verify();
        Assert.Empty(cluster.Front.Errors);
    }

    [Theory]
    [InlineData("InitTransactions")]
    [InlineData("SendOffsetsToTransaction")]
    [InlineData("CommitTransaction")]
    [InlineData("AbortTransaction")]
    public async Task ATwinWhoseCoordinatorAnswerIsLostThrowsATimeoutNamingTheCallAndTheCallGoesOn(string call)
    {
        const string topic = "blocking-timeout";
        const string input = "blocking-timeout-in";
        const string group = "blocking-timeout-group";
        using var cluster = TransactionTests.StartCluster(topic, 1);
        cluster.CreateTopic(input, 1);
        await using var proxy = KafkaProxy.Start(cluster);

        // The lost answer holds the call for request.timeout.ms, far longer than the twin's wait; then it is sent again.
        var twinWait = TimeSpan.FromMilliseconds(200);
        using var producer = new ProducerBuilder<string, string>(new ProducerOptions
        {
            BootstrapServers = proxy.BootstrapServers.Split(','),
            TransactionalId = "blocking-timeout-" + call,
            RetryBackoff = TimeSpan.FromMilliseconds(20),
            RequestTimeout = TimeSpan.FromSeconds(5),
        }).Build();
        var offsets = new[] { new TopicPartitionOffset(input, 0, 3) };
        var lost = call switch
        {
            "InitTransactions" => KafkaApiKey.InitProducerId,
            "SendOffsetsToTransaction" => KafkaApiKey.AddOffsetsToTxn,
            _ => KafkaApiKey.EndTxn,
        };

        if (call != "InitTransactions")
        {
            producer.InitTransactions(Bound);
            producer.BeginTransaction();
            producer.Produce(new ProducerRecord<string, string>(topic, "k", "v"));
            Assert.True(producer.Flush(Bound)); // the partition is in the transaction: an abort too ends it with EndTxn
        }

        proxy.DropResponses(lost, 1);
        var timedOut = Assert.Throws<KafkaTimeoutException>(() =>
        {
            switch (call)
            {
                case "InitTransactions":
                    producer.InitTransactions(twinWait);
                    break;
                case "SendOffsetsToTransaction":
                    producer.SendOffsetsToTransaction(offsets, new ConsumerGroupMetadata(group), twinWait);
                    break;
                case "CommitTransaction":
                    producer.CommitTransaction(twinWait);
                    break;
                default:
                    producer.AbortTransaction(twinWait);
                    break;
            }
        });
        Assert.Equal(ErrorCode.LocalTimedOut, timedOut.ErrorCode);
        Assert.StartsWith(call + " did not finish within 200 ms", timedOut.Message, StringComparison.Ordinal);

        // The call went on in the background; waiting again (for the offsets: the commit waits for them) sees it through.
        switch (call)
        {
            case "InitTransactions":
                Assert.Contains("Call InitTransactions again", timedOut.Message, StringComparison.Ordinal);
                producer.InitTransactions(Bound);
                break;
            case "SendOffsetsToTransaction":
                Assert.Contains("CommitTransaction waits for it", timedOut.Message, StringComparison.Ordinal);
                producer.CommitTransaction(Bound);
                Assert.Equal(3L, proxy.Transactions.CommittedOffsets(group)[new Samsa.Testing.Proxy.TopicPartition(input, 0)]);
                break;
            case "CommitTransaction":
                producer.CommitTransaction(Bound);
                break;
            default:
                producer.AbortTransaction(Bound);
                break;
        }

        Assert.Equal(1, proxy.DroppedResponses);

        // The producer goes on.
        producer.BeginTransaction();
        producer.Produce(new ProducerRecord<string, string>(topic, "k", "after"));
        producer.CommitTransaction(Bound);
        proxy.Transactions.Verify();
        TransactionOutcome[] expected = call switch
        {
            "InitTransactions" => [TransactionOutcome.Committed],
            "AbortTransaction" => [TransactionOutcome.Aborted, TransactionOutcome.Committed],
            _ => [TransactionOutcome.Committed, TransactionOutcome.Committed],
        };
        Assert.Equal(expected, proxy.Transactions.Report().Transactions.Select(t => t.Outcome));
    }

    private static List<string> Values(FrontedCluster cluster, string topic, Ck.IsolationLevel isolation) =>
        [.. RecordReader.ReadPartition(cluster.Proxy.BootstrapServers, topic, 0, Bound, isolation).Select(r => Encoding.UTF8.GetString(r.Value!))];
}
