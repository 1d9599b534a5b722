namespace Samsa.IntegrationTests.Transactions;

using Confluent.Kafka;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;
using Xunit.Abstractions;
using ConfluentOffset = Confluent.Kafka.TopicPartitionOffset;
using ConfluentPartition = Confluent.Kafka.TopicPartition;

/// <summary>
/// The <see cref="TransactionOracle"/> behind a <see cref="KafkaProxy"/>, checked against a known-good transactional
/// client, Confluent.Kafka's (librdkafka's) producer, on the mock cluster: it must find no violation, count the
/// transactions, classify committed and aborted records as a real read_committed consumer would, and hold the offsets
/// of the committed transactions only.
/// </summary>
public sealed class TransactionOracleProxyTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ConfluentTransactionsAreClassifiedAsARealBrokerWould()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(3);
        cluster.CreateTopic("txn-out", 2);
        cluster.CreateTopic("txn-in", 1);
        await using var proxy = KafkaProxy.Start(cluster);

        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = proxy.BootstrapServers, TransactionalId = "confluent-txn", LingerMs = 0 })
            .SetLogHandler(static (_, _) => { }).Build())
        {
            producer.InitTransactions(Bound);
            var group = ConsumerGroupMetadataOf(proxy.BootstrapServers, "oracle-group");

            producer.BeginTransaction();
            Produce(producer, "txn-out", "c", 0, 3);
            Produce(producer, "txn-out", "c", 1, 2);
            producer.SendOffsetsToTransaction([new ConfluentOffset("txn-in", 0, 10)], group, Bound);
            producer.CommitTransaction(Bound);

            producer.BeginTransaction();
            Produce(producer, "txn-out", "a", 0, 4);
            producer.SendOffsetsToTransaction([new ConfluentOffset("txn-in", 0, 99)], group, Bound);
            producer.Flush(Bound);
            producer.AbortTransaction(Bound);

            producer.BeginTransaction();
            Produce(producer, "txn-out", "d", 1, 2);
            producer.CommitTransaction(Bound);
        }

        var report = proxy.Transactions.Report();
        output.WriteLine(report.ToString());
        foreach (var t in report.Transactions)
        {
            output.WriteLine("  " + t);
        }

        proxy.Transactions.Verify();
        Assert.Equal((2, 1), (report.Committed, report.Aborted));
        Assert.Equal(10, proxy.Transactions.CommittedOffsets("oracle-group")[new Testing.Proxy.TopicPartition("txn-in", 0)]);

        var read = TransactionalReader.Read(proxy.BootstrapServers, "txn-out", IsolationLevel.ReadUncommitted, proxy.Transactions);
        Assert.Equal(11, read.Count);
        Assert.All(read.Where(r => r.Value!.StartsWith('a')), r => Assert.Equal(TransactionOutcome.Aborted, r.Outcome));
        Assert.All(read.Where(r => !r.Value!.StartsWith('a')), r => Assert.Equal(TransactionOutcome.Committed, r.Outcome));

        // The mock's own read_committed does not hide the aborted records (which is why the oracle classifies them).
        var mockCommitted = TransactionalReader.Read(proxy.BootstrapServers, "txn-out", IsolationLevel.ReadCommitted, proxy.Transactions);
        output.WriteLine($"mock read_committed: {mockCommitted.Count} records, {mockCommitted.Count(r => r.Outcome == TransactionOutcome.Aborted)} of them aborted");
    }

    [Fact]
    public async Task AnOpenTransactionIsAbortedByTheNextInitOfItsTransactionalId()
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(1);
        cluster.CreateTopic("txn-open", 1);
        await using var proxy = KafkaProxy.Start(cluster);
        var config = new ProducerConfig { BootstrapServers = proxy.BootstrapServers, TransactionalId = "restarted", LingerMs = 0 };

        using (var first = new ProducerBuilder<string, string>(config).SetLogHandler(static (_, _) => { }).Build())
        {
            first.InitTransactions(Bound);
            first.BeginTransaction();
            Produce(first, "txn-open", "left-open", 0, 2);
            first.Flush(Bound);
            Assert.Equal(TransactionOutcome.Open, Assert.Single(proxy.Transactions.Report().Transactions).Outcome);
            using var second = new ProducerBuilder<string, string>(config).SetLogHandler(static (_, _) => { }).Build();
            second.InitTransactions(Bound);
        }

        var txn = proxy.Transactions.Report().Transactions[0];
        Assert.Equal(TransactionOutcome.Aborted, txn.Outcome);
        Assert.True(txn.AbortedByInitProducerId);
        Assert.All(TransactionalReader.Read(proxy.BootstrapServers, "txn-open", IsolationLevel.ReadUncommitted, proxy.Transactions),
            r => Assert.Equal(TransactionOutcome.Aborted, r.Outcome));
    }

    private static void Produce(IProducer<string, string> producer, string topic, string prefix, int partition, int count)
    {
        for (var i = 0; i < count; i++)
        {
            producer.Produce(new ConfluentPartition(topic, partition), new Message<string, string> { Key = "k", Value = $"{prefix}{i}" });
        }
    }

    private static IConsumerGroupMetadata ConsumerGroupMetadataOf(string bootstrapServers, string group)
    {
        // Not joined: generation -1 and no member id, which the mock accepts (it checks neither).
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig { BootstrapServers = bootstrapServers, GroupId = group })
            .SetLogHandler(static (_, _) => { }).Build();
        return consumer.ConsumerGroupMetadata;
    }
}
