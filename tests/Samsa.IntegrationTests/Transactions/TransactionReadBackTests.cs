using System.Text;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;
using Xunit.Abstractions;
using Ck = Confluent.Kafka;

namespace Samsa.IntegrationTests.Transactions;

/// <summary>
/// Samsa's transactional producer through a <see cref="KafkaProxy"/> with its <see cref="TransactionFront"/>, read back by
/// Confluent.Kafka's consumer (CRCs checked) at read_committed and read_uncommitted: what a real broker would show.
/// </summary>
public sealed class TransactionReadBackTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static FrontedCluster Start(string topic, int partitions) => FrontedCluster.Start(TransactionTests.StartCluster(topic, partitions));

    /// <summary>A Samsa transactional producer with its transactions initialized.</summary>
    private static async Task<IProducer<string, string>> InitializedProducerAsync(FrontedCluster cluster, string transactionalId)
    {
        var producer = new ProducerBuilder<string, string>(new ProducerOptions
        {
            BootstrapServers = cluster.Proxy.BootstrapServers.Split(','),
            TransactionalId = transactionalId,
            RetryBackoff = TimeSpan.FromMilliseconds(20),
        }).Build();
        try
        {
            await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
            return producer;
        }
        catch
        {
            await producer.DisposeAsync();
            throw;
        }
    }

    /// <summary>Values per partition, in offset order, as Confluent's consumer reads them.</summary>
    private static Dictionary<int, List<string>> Read(FrontedCluster cluster, string topic, int partitions, Ck.IsolationLevel isolation)
    {
        var result = new Dictionary<int, List<string>>();
        for (var p = 0; p < partitions; p++)
        {
            result[p] = [.. RecordReader.ReadPartition(cluster.Proxy.BootstrapServers, topic, p, Bound, isolation).Select(r => Encoding.UTF8.GetString(r.Value!))];
        }

        return result;
    }

    [Fact]
    public async Task CommittedTransactionsAppearOnceInOrderAndAbortedOnesOnlyToReadUncommitted()
    {
        const string topic = "samsa-txn-rb";
        const int partitions = 3;
        await using var cluster = Start(topic, partitions);
        await using var producer = await InitializedProducerAsync(cluster, "samsa-rb");

        var sent = new List<(int Partition, string Value, bool Committed)>();
        for (var transaction = 0; transaction < 6; transaction++)
        {
            var commit = transaction % 3 != 1; // transactions 1 and 4 abort
            producer.BeginTransaction();
            var results = new List<Task<DeliveryResult>>();
            for (var i = 0; i < 20; i++)
            {
                results.Add(producer.ProduceAsync(new ProducerRecord<string, string>(topic, $"key-{i % 7}", $"t{transaction}-{i}")).AsTask());
            }

            foreach (var (r, i) in (await Task.WhenAll(results).WaitAsync(Bound)).Select((r, i) => (r, i)))
            {
                sent.Add((r.Partition, $"t{transaction}-{i}", commit));
            }

            if (commit)
            {
                await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound);
            }
            else
            {
                await producer.AbortTransactionAsync().AsTask().WaitAsync(Bound);
            }
        }

        var committed = Read(cluster, topic, partitions, Ck.IsolationLevel.ReadCommitted);
        var uncommitted = Read(cluster, topic, partitions, Ck.IsolationLevel.ReadUncommitted);
        for (var p = 0; p < partitions; p++)
        {
            output.WriteLine($"[{p}] read_committed {committed[p].Count}, read_uncommitted {uncommitted[p].Count}");
            Assert.Equal(sent.Where(s => s.Partition == p && s.Committed).Select(s => s.Value), committed[p]);
            Assert.Equal(sent.Where(s => s.Partition == p).Select(s => s.Value), uncommitted[p]);
        }

        Assert.Equal(4, cluster.Front.CommittedTransactions);
        Assert.Equal(2, cluster.Front.AbortedTransactions);
        Assert.Empty(cluster.Front.Errors);
        Assert.Empty(cluster.Proxy.Errors);
    }

    [Fact]
    public async Task ASecondSamsaProducerFencesTheFirstWhoseLaterRecordsNeverBecomeVisible()
    {
        const string topic = "samsa-txn-fence";
        await using var cluster = Start(topic, 1);
        await using var first = await InitializedProducerAsync(cluster, "samsa-fence");
        first.BeginTransaction();
        await first.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "first-open")).AsTask().WaitAsync(Bound);

        await using var second = await InitializedProducerAsync(cluster, "samsa-fence");
        Assert.Equal(1, cluster.Front.FencedProducers);

        var late = await Assert.ThrowsAnyAsync<KafkaException>(() => first.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "first-late")).AsTask().WaitAsync(Bound));
        output.WriteLine($"late record: {late.GetType().Name}: {late.Message}");
        var commit = await Assert.ThrowsAsync<ProducerFencedException>(() => first.CommitTransactionAsync().AsTask().WaitAsync(Bound));
        output.WriteLine($"commit: {commit.Message}");

        second.BeginTransaction();
        await second.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "second")).AsTask().WaitAsync(Bound);
        await second.CommitTransactionAsync().AsTask().WaitAsync(Bound);

        Assert.Equal(["second"], Read(cluster, topic, 1, Ck.IsolationLevel.ReadCommitted)[0]);
        Assert.DoesNotContain("first-late", Read(cluster, topic, 1, Ck.IsolationLevel.ReadUncommitted)[0]);
        Assert.Empty(cluster.Front.Errors);
    }

    [Theory]
    [InlineData("commit")]
    [InlineData("abort")]
    [InlineData("offsets")]
    [InlineData("new partition")]
    public async Task AFencedSamsaProducersNextCoordinatorCallFailsAsFenced(string call)
    {
        const string topic = "samsa-txn-fence-call";
        await using var cluster = Start(topic, 2);
        await using var first = await InitializedProducerAsync(cluster, "samsa-fence-" + call);
        first.BeginTransaction();
        var acked = await first.ProduceAsync(new ProducerRecord<string, string>(topic, 0, "k", "old")).AsTask().WaitAsync(Bound);

        await using var second = await InitializedProducerAsync(cluster, "samsa-fence-" + call);

        // Each call's request carries the old epoch; the front answers it PRODUCER_FENCED in that API's own shape.
        var fenced = await Assert.ThrowsAsync<ProducerFencedException>(() => call switch
        {
            "commit" => first.CommitTransactionAsync().AsTask(),
            "abort" => first.AbortTransactionAsync().AsTask(),
            "offsets" => first.SendOffsetsToTransactionAsync([new TopicPartitionOffset(topic, 0, 1)], new ConsumerGroupMetadata("g-" + call)).AsTask(),
            _ => first.ProduceAsync(new ProducerRecord<string, string>(topic, 1 - acked.Partition, "k", "other")).AsTask(),
        }).WaitAsync(Bound);
        output.WriteLine($"{call}: {fenced.Message}");
        Assert.Equal(1, cluster.Front.RefusedStaleRequests);
        Assert.Empty(Read(cluster, topic, 2, Ck.IsolationLevel.ReadCommitted).SelectMany(p => p.Value));
        Assert.Empty(cluster.Front.Errors);
    }

    [Fact]
    public async Task OffsetsSentWithAConfluentConsumersGroupAreCommittedWithTheTransaction()
    {
        const string topic = "samsa-txn-offsets";
        const string input = "samsa-txn-offsets-in";
        var group = "samsa-g-" + Guid.NewGuid().ToString("N");
        await using var cluster = Start(topic, 1);
        cluster.Mock.CreateTopic(input, 2);
        await using var producer = await InitializedProducerAsync(cluster, "samsa-offsets");

        producer.BeginTransaction();
        await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "v1")).AsTask().WaitAsync(Bound);
        await producer.SendOffsetsToTransactionAsync([new TopicPartitionOffset(input, 0, 10), new TopicPartitionOffset(input, 1, 4)], new ConsumerGroupMetadata(group))
            .AsTask().WaitAsync(Bound);
        await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound);

        producer.BeginTransaction();
        await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "v2")).AsTask().WaitAsync(Bound);
        await producer.SendOffsetsToTransactionAsync([new TopicPartitionOffset(input, 0, 20)], new ConsumerGroupMetadata(group)).AsTask().WaitAsync(Bound);
        await producer.AbortTransactionAsync().AsTask().WaitAsync(Bound);

        using var consumer = new Ck.ConsumerBuilder<Ck.Ignore, Ck.Ignore>(new Ck.ConsumerConfig
        {
            BootstrapServers = cluster.Proxy.BootstrapServers,
            GroupId = group,
        }).SetLogHandler(static (_, _) => { }).Build();
        var offsets = consumer.Committed([new Ck.TopicPartition(input, 0), new Ck.TopicPartition(input, 1)], Bound);
        Assert.Equal([10L, 4L], offsets.OrderBy(o => o.Partition.Value).Select(o => o.Offset.Value));
        Assert.Empty(cluster.Front.Errors);
    }
}
