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

    /// <summary>One record as sent, with where its delivery result placed it.</summary>
    private sealed record Sent(int Transaction, bool Committed, int Partition, long Offset, string Key, string Value, (string Key, string Value)[] Headers, long TimestampMs);

    [Fact]
    public async Task CommittedTransactionsAppearOnceInOrderAndAbortedOnesOnlyToReadUncommitted()
    {
        const string topic = "samsa-txn-rb";
        const string transactionalId = "samsa-rb";
        const int partitions = 3;
        await using var cluster = Start(topic, partitions);
        await using var producer = await InitializedProducerAsync(cluster, transactionalId);

        // Transactions 1 and 4 abort. Each record has its own key, value, headers and create time.
        var firstTimestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000;
        var sent = new List<Sent>();
        for (var transaction = 0; transaction < 6; transaction++)
        {
            var commit = transaction % 3 != 1;
            producer.BeginTransaction();
            var results = new List<(Task<DeliveryResult> Result, string Key, string Value, (string, string)[] Headers, long TimestampMs)>();
            for (var i = 0; i < 20; i++)
            {
                var (key, value, timestampMs) = ($"key-{i % 7}", $"t{transaction}-{i}", firstTimestamp + (transaction * 100) + i);
                (string, string)[] headers = i % 4 == 0 ? [] : [("transaction", $"{transaction}"), ("index", $"{i}")];
                var record = new ProducerRecord<string, string>(topic, key, value)
                {
                    Headers = headers.Aggregate(new Headers(), (all, h) => all.Add(h.Item1, h.Item2)),
                    Timestamp = new Timestamp(timestampMs, TimestampType.CreateTime),
                };
                results.Add((producer.ProduceAsync(record).AsTask(), key, value, headers, timestampMs));
            }

            foreach (var (result, key, value, headers, timestampMs) in results)
            {
                var delivered = await result.WaitAsync(Bound);
                sent.Add(new Sent(transaction, commit, delivered.Partition, delivered.Offset, key, value, headers, timestampMs));
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

        for (var p = 0; p < partitions; p++)
        {
            var expected = sent.Where(s => s.Partition == p).OrderBy(s => s.Offset).ToList();
            var uncommitted = RecordReader.ReadPartition(cluster.Proxy.BootstrapServers, topic, p, Bound, Ck.IsolationLevel.ReadUncommitted);
            var committed = RecordReader.ReadPartition(cluster.Proxy.BootstrapServers, topic, p, Bound, Ck.IsolationLevel.ReadCommitted);
            output.WriteLine($"[{p}] sent {expected.Count}, read_uncommitted {uncommitted.Count}, read_committed {committed.Count}; markers at " +
                             string.Join(" ", cluster.Front.MarkersSeen(topic, p).Select(m => $"{m.Offset}:{(m.IsCommit ? "COMMIT" : "ABORT")}")));

            // Every record exactly as sent, in offset order: all of them read_uncommitted, the committed ones read_committed.
            AssertSame(expected, uncommitted);
            AssertSame([.. expected.Where(s => s.Committed)], committed);

            // Each transaction's records in the partition sit together and are followed by its marker, one offset after its
            // last record: COMMIT after a committed transaction, ABORT after an aborted one; the next one starts after it.
            var transactions = expected.GroupBy(s => s.Transaction).ToList();
            var expectedMarkers = new List<(long Offset, bool IsCommit)>();
            var next = 0L;
            foreach (var records in transactions)
            {
                Assert.Equal(next, records.First().Offset);
                Assert.Equal(Enumerable.Range(0, records.Count()).Select(i => next + i), records.Select(r => r.Offset));
                expectedMarkers.Add((records.Last().Offset + 1, records.First().Committed));
                next = records.Last().Offset + 2;
            }

            var markers = cluster.Front.MarkersSeen(topic, p);
            Assert.Equal(expectedMarkers, markers.Select(m => (m.Offset, m.IsCommit)));
            Assert.All(markers, m => Assert.Equal(cluster.Front.ProducerOf(transactionalId)!.Value.ProducerId, m.ProducerId));
            Assert.Equal(next, cluster.EndOffset(topic, p, Bound, Ck.IsolationLevel.ReadUncommitted)); // one past its last marker
        }

        Assert.Equal(4, cluster.Front.CommittedTransactions);
        Assert.Equal(2, cluster.Front.AbortedTransactions);
        cluster.Proxy.Transactions.Verify();
        var outcomes = cluster.Proxy.Transactions.Report().Transactions.Select(t => t.Outcome);
        Assert.Equal(Enumerable.Range(0, 6).Select(t => t % 3 != 1 ? TransactionOutcome.Committed : TransactionOutcome.Aborted), outcomes);
        Assert.All(sent, s => Assert.Equal(
            s.Committed ? TransactionOutcome.Committed : TransactionOutcome.Aborted, cluster.Proxy.Transactions.OutcomeOf(topic, s.Partition, s.Offset)));
        Assert.Empty(cluster.Front.Errors);
        Assert.Empty(cluster.Proxy.Errors);
    }

    private static void AssertSame(IReadOnlyList<Sent> expected, IReadOnlyList<ConsumedRecord> read)
    {
        Assert.Equal(expected.Count, read.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            var (s, r) = (expected[i], read[i]);
            Assert.Equal((s.Partition, s.Offset), (r.Partition, r.Offset));
            Assert.Equal(s.Key, Encoding.UTF8.GetString(r.Key!));
            Assert.Equal(s.Value, Encoding.UTF8.GetString(r.Value!));
            Assert.Equal(s.Headers, r.Headers.Select(h => (h.Key, Encoding.UTF8.GetString(h.Value!))));
            Assert.Equal((Ck.TimestampType.CreateTime, s.TimestampMs), (r.TimestampType, r.TimestampMs));
        }
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
    public async Task GroupIdOnlyOffsetsAreCommittedWhileAConfluentConsumerIsAMemberOfTheGroup()
    {
        const string topic = "samsa-txn-offsets-member";
        const string input = "samsa-txn-offsets-member-in";
        var group = "samsa-gm-" + Guid.NewGuid().ToString("N");
        await using var cluster = Start(topic, 1);
        cluster.Mock.CreateTopic(input, 1);
        await using var producer = await InitializedProducerAsync(cluster, "samsa-offsets-member");

        // A live member: a broker takes group-id-only offsets without membership checks, and so must the front.
        using var member = cluster.GroupConsumer(group);
        member.Subscribe(input);
        var deadline = DateTime.UtcNow + Bound;
        while (member.Assignment.Count == 0 && DateTime.UtcNow < deadline)
        {
            member.Consume(TimeSpan.FromMilliseconds(200));
        }

        Assert.NotEmpty(member.Assignment);
        producer.BeginTransaction();
        await producer.ProduceAsync(new ProducerRecord<string, string>(topic, "k", "v")).AsTask().WaitAsync(Bound);
        await producer.SendOffsetsToTransactionAsync([new TopicPartitionOffset(input, 0, 12)], new ConsumerGroupMetadata(group)).AsTask().WaitAsync(Bound);
        await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound);

        Assert.Equal(12L, member.Committed([new Ck.TopicPartition(input, 0)], Bound).Single().Offset.Value);
        Assert.Empty(cluster.Front.Errors);
        member.Close();
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

        Assert.Equal([10L, 4L], [cluster.Committed(group, new Ck.TopicPartition(input, 0), Bound).Value, cluster.Committed(group, new Ck.TopicPartition(input, 1), Bound).Value]);
        Assert.Empty(cluster.Front.Errors);
    }
}
