namespace Samsa.IntegrationTests.Transactions;

using System.Text;
using Confluent.Kafka;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;
using Xunit.Abstractions;
using TopicPartition = Confluent.Kafka.TopicPartition;

/// <summary>
/// The <see cref="TransactionFront"/> makes the mock cluster show transactions as a Kafka broker does. Checked with
/// Confluent.Kafka's own transactional producer (librdkafka's transaction manager) and consumer at both isolation levels,
/// CRCs checked. Each test has its own cluster: the proxy changes the ports the brokers advertise.
/// </summary>
public sealed class TransactionFrontTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static FrontedCluster Start(string topic, bool front = true) => FrontedCluster.Start(TransactionTests.StartCluster(topic, 1), front);

    /// <summary>A transactional producer with its transactions initialized.</summary>
    private static IProducer<string, string> InitializedProducer(FrontedCluster cluster, string transactionalId)
    {
        var producer = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = cluster.Proxy.BootstrapServers,
            TransactionalId = transactionalId,
            TransactionTimeoutMs = 30_000,
            LingerMs = 1,
        }).SetLogHandler(static (_, _) => { }).Build();
        try
        {
            producer.InitTransactions(Bound);
            return producer;
        }
        catch
        {
            producer.Dispose();
            throw;
        }
    }

    /// <summary>Produces <paramref name="values"/> to partition 0 and waits for each acknowledgement.</summary>
    private static async Task ProduceAsync(IProducer<string, string> producer, string topic, params string[] values)
    {
        foreach (var v in values)
        {
            await producer.ProduceAsync(new TopicPartition(topic, 0), new Message<string, string> { Key = "k", Value = v }).WaitAsync(Bound);
        }
    }

    /// <summary>Begins a transaction and produces <paramref name="values"/> in it as <see cref="ProduceAsync"/> does.</summary>
    private static Task ProduceInNewTransactionAsync(IProducer<string, string> producer, string topic, params string[] values)
    {
        producer.BeginTransaction();
        return ProduceAsync(producer, topic, values);
    }

    private static List<(long Offset, string Value)> Read(FrontedCluster cluster, string topic, IsolationLevel isolation) =>
        [.. RecordReader.ReadPartition(cluster.Proxy.BootstrapServers, topic, 0, Bound, isolation).Select(r => (r.Offset, Encoding.UTF8.GetString(r.Value!)))];

    private void Show(string title, IEnumerable<(long Offset, string Value)> records) =>
        output.WriteLine($"{title}: {string.Join(' ', records.Select(r => $"{r.Offset}:{r.Value}"))}");

    [Fact]
    public async Task ReadCommittedSeesOnlyCommittedTransactionsInOrderAndReadUncommittedSeesEverythingWithMarkerGaps()
    {
        const string topic = "txn-rw";
        await using var cluster = Start(topic);
        using var producer = InitializedProducer(cluster, "tx-rw");

        await ProduceInNewTransactionAsync(producer, topic, "c1", "c2", "c3"); // offsets 0-2, COMMIT marker at 3
        producer.CommitTransaction(Bound);
        await ProduceInNewTransactionAsync(producer, topic, "a1", "a2", "a3"); // 4-6, ABORT marker at 7
        producer.AbortTransaction(Bound);
        await ProduceInNewTransactionAsync(producer, topic, "c4", "c5"); // 8-9, COMMIT marker at 10
        producer.CommitTransaction(Bound);
        await ProduceInNewTransactionAsync(producer, topic, "o1", "o2"); // 11-12, still open

        var committed = Read(cluster, topic, IsolationLevel.ReadCommitted);
        var uncommitted = Read(cluster, topic, IsolationLevel.ReadUncommitted);
        Show("read_committed", committed);
        Show("read_uncommitted", uncommitted);

        Assert.Equal([(0L, "c1"), (1L, "c2"), (2L, "c3"), (8L, "c4"), (9L, "c5")], committed);
        Assert.Equal(
            [(0L, "c1"), (1L, "c2"), (2L, "c3"), (4L, "a1"), (5L, "a2"), (6L, "a3"), (8L, "c4"), (9L, "c5"), (11L, "o1"), (12L, "o2")],
            uncommitted);
        Assert.Equal(11L, cluster.Front.FirstOpenOffset(topic, 0));
        Assert.True(cluster.Front.FixedControlBatchCrcs > 0, "the markers' zero CRCs were fixed");

        // The open transaction commits: read_committed now reaches it.
        producer.CommitTransaction(Bound);
        Assert.Null(cluster.Front.FirstOpenOffset(topic, 0));
        committed = Read(cluster, topic, IsolationLevel.ReadCommitted);
        Show("read_committed after the last commit", committed);
        Assert.Equal([(0L, "c1"), (1L, "c2"), (2L, "c3"), (8L, "c4"), (9L, "c5"), (11L, "o1"), (12L, "o2")], committed);
        Assert.Equal(3, cluster.Front.CommittedTransactions);
        Assert.Equal(1, cluster.Front.AbortedTransactions);
        Assert.Empty(cluster.Front.Errors);
        Assert.Empty(cluster.Proxy.Errors);
    }

    [Fact]
    public async Task AReadCommittedConsumerStartingBetweenTransactionsSeesExactlyTheCommittedOnesAfterIt()
    {
        const string topic = "txn-mid";
        await using var cluster = Start(topic);
        using var producer = InitializedProducer(cluster, "tx-mid");
        foreach (var (values, commit) in new[] { (new[] { "a1", "a2" }, false), (["c1"], true), (["a3"], false), (["c2", "c3"], true) })
        {
            await ProduceInNewTransactionAsync(producer, topic, values);
            if (commit)
            {
                producer.CommitTransaction(Bound);
            }
            else
            {
                producer.AbortTransaction(Bound);
            }
        }

        // a1 a2 @0-1, ABORT @2, c1 @3, COMMIT @4, a3 @5, ABORT @6, c2 c3 @7-8, COMMIT @9. Before any full read: the front has
        // not seen the markers yet, and the consumers start past the first ones.
        foreach (var (from, expected) in new[] { (3L, new[] { "c1", "c2", "c3" }), (4L, ["c2", "c3"]), (6L, ["c2", "c3"]), (2L, ["c1", "c2", "c3"]), (0L, ["c1", "c2", "c3"]) })
        {
            Assert.Equal(expected, ReadFrom(cluster, topic, from));
        }

        Assert.Empty(cluster.Front.Errors);
    }

    /// <summary>Values read at read_committed (CRCs checked unless told not to) from <paramref name="from"/> to the partition's end.</summary>
    private static List<string> ReadFrom(FrontedCluster cluster, string topic, Offset from, bool checkCrcs = true)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = cluster.Proxy.BootstrapServers,
            GroupId = "from-" + Guid.NewGuid().ToString("N"),
            IsolationLevel = IsolationLevel.ReadCommitted,
            CheckCrcs = checkCrcs,
            EnablePartitionEof = true,
        }).SetLogHandler(static (_, _) => { }).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, from));
        var values = new List<string>();
        for (var result = consumer.Consume(Bound); result is not null && !result.IsPartitionEOF; result = consumer.Consume(Bound))
        {
            values.Add(result.Message.Value);
        }

        return values;
    }

    [Fact]
    public async Task ListOffsetsAtReadCommittedAnswersTheLastStableOffset()
    {
        const string topic = "txn-lso";
        await using var cluster = Start(topic);
        using var producer = InitializedProducer(cluster, "tx-lso");
        await ProduceInNewTransactionAsync(producer, topic, "c1", "c2");
        producer.CommitTransaction(Bound); // marker at 2
        await ProduceInNewTransactionAsync(producer, topic, "o1"); // 3, open

        long End(IsolationLevel isolation) => cluster.EndOffset(topic, 0, Bound, isolation);

        Assert.Equal(4L, End(IsolationLevel.ReadUncommitted));
        Assert.Equal(3L, End(IsolationLevel.ReadCommitted));
        producer.AbortTransaction(Bound); // marker at 4
        Assert.Equal(5L, End(IsolationLevel.ReadCommitted));
        Assert.Empty(cluster.Front.Errors);
    }

    [Fact]
    public async Task ASecondProducerWithTheSameIdFencesTheFirstAndAbortsItsOpenTransaction()
    {
        const string topic = "txn-fence";
        await using var cluster = Start(topic);
        using var first = InitializedProducer(cluster, "tx-fence");
        var (pid, epoch) = cluster.Front.ProducerOf("tx-fence")!.Value;
        await ProduceInNewTransactionAsync(first, topic, "old1", "old2"); // 0-1, then aborted by the fence: marker at 2

        using var second = InitializedProducer(cluster, "tx-fence");
        Assert.Equal((pid, (short)(epoch + 1)), cluster.Front.ProducerOf("tx-fence"));
        Assert.Equal(1, cluster.Front.FencedProducers);

        // The first producer's next record is refused (INVALID_PRODUCER_EPOCH), and it cannot commit.
        var late = await Assert.ThrowsAnyAsync<KafkaException>(() => first.ProduceAsync(new TopicPartition(topic, 0), new Message<string, string> { Key = "k", Value = "late" }).WaitAsync(Bound));
        output.WriteLine($"late record: {late.Error.Code} fatal={late.Error.IsFatal}: {late.Message}");
        var commit = Assert.ThrowsAny<KafkaException>(() => first.CommitTransaction(Bound));
        output.WriteLine($"commit: {commit.Error.Code} fatal={commit.Error.IsFatal}: {commit.Message}");
        Assert.True(commit.Error.IsFatal || commit.Error.Code is ErrorCode.ProducerFenced or ErrorCode.InvalidProducerEpoch, commit.Message);
        Assert.True(cluster.Front.RefusedStaleRequests >= 1);

        await ProduceInNewTransactionAsync(second, topic, "new1", "new2"); // 3-4, COMMIT marker at 5
        second.CommitTransaction(Bound);

        var committed = Read(cluster, topic, IsolationLevel.ReadCommitted);
        var uncommitted = Read(cluster, topic, IsolationLevel.ReadUncommitted);
        Show("read_committed", committed);
        Show("read_uncommitted", uncommitted);
        Assert.Equal([(3L, "new1"), (4L, "new2")], committed);
        Assert.Equal([(0L, "old1"), (1L, "old2"), (3L, "new1"), (4L, "new2")], uncommitted);
        Assert.Equal(1, cluster.Front.AbortedTransactions);
        Assert.Empty(cluster.Front.Errors);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task AnOldInitProducerIdVersionWithoutProducerIdFencesThroughTheBumpAndGetsItsOwnVersionBack(short version)
    {
        const string topic = "txn-fence-old";
        await using var cluster = Start(topic);
        using var first = InitializedProducer(cluster, "tx-old-" + version);
        var (pid, epoch) = cluster.Front.ProducerOf("tx-old-" + version)!.Value;
        await ProduceInNewTransactionAsync(first, topic, "old");

        // InitProducerId v1 (classic) or v2 (flexible) has no producer id field (KIP-360 came with v3): the front asks the
        // mock with v3 and answers in the client's version. The other brokers answer NOT_COORDINATOR.
        var answers = new List<byte[]>();
        foreach (var hostPort in cluster.Proxy.BootstrapServers.Split(','))
        {
            answers.Add(await RawInitProducerIdAsync(hostPort, version, "tx-old-" + version));
        }

        var fenced = Assert.Single(answers, a => System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(a.AsSpan(version >= 2 ? 9 : 8)) == 0);
        Assert.Equal(version >= 2 ? 22 : 20, fenced.Length); // a flexible answer ends with its tagged fields
        var at = version >= 2 ? 11 : 10;
        Assert.Equal(pid, System.Buffers.Binary.BinaryPrimitives.ReadInt64BigEndian(fenced.AsSpan(at)));
        Assert.Equal(epoch + 1, System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(fenced.AsSpan(at + 8)));
        Assert.All(answers.Where(a => a != fenced), a => Assert.Equal(16, System.Buffers.Binary.BinaryPrimitives.ReadInt16BigEndian(a.AsSpan(version >= 2 ? 9 : 8))));
        Assert.Equal(1, cluster.Front.FencedProducers);
        Assert.Empty(Read(cluster, topic, IsolationLevel.ReadCommitted));
        Assert.Empty(cluster.Front.Errors);
    }

    /// <summary>One hand-written InitProducerId v1 or v2 on a connection of its own; the answer without its size prefix.</summary>
    private static async Task<byte[]> RawInitProducerIdAsync(string hostPort, short version, string transactionalId)
    {
        var body = new List<byte>();
        void Int16(int v) => body.AddRange([(byte)(v >> 8), (byte)v]);
        void Int32(int v) => body.AddRange([(byte)(v >> 24), (byte)(v >> 16), (byte)(v >> 8), (byte)v]);
        Int16(22);
        Int16(version);
        Int32(7);
        Int16(3);
        body.AddRange("raw"u8.ToArray());
        var id = Encoding.UTF8.GetBytes(transactionalId);
        if (version >= 2)
        {
            body.Add(0); // header tagged fields
            body.Add((byte)(id.Length + 1)); // compact string (short ids)
        }
        else
        {
            Int16(id.Length);
        }

        body.AddRange(id);
        Int32(30_000);
        if (version >= 2)
        {
            body.Add(0);
        }

        var colon = hostPort.LastIndexOf(':');
        using var client = new System.Net.Sockets.TcpClient { NoDelay = true };
        await client.ConnectAsync(hostPort[..colon], int.Parse(hostPort[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture));
        var stream = client.GetStream();
        var frame = new byte[4 + body.Count];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame, body.Count);
        body.CopyTo(frame, 4);
        await stream.WriteAsync(frame);
        var size = new byte[4];
        await stream.ReadExactlyAsync(size).AsTask().WaitAsync(Bound);
        var answer = new byte[System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(size)];
        await stream.ReadExactlyAsync(answer).AsTask().WaitAsync(Bound);
        return answer;
    }

    [Theory]
    [InlineData(KafkaApiKey.EndTxn)]
    [InlineData(KafkaApiKey.InitProducerId)]
    public async Task ACoordinatorErrorDuringTheFenceReachesTheNewProducerWhoseRetryFences(KafkaApiKey failing)
    {
        const string topic = "txn-fence-retry";
        await using var cluster = Start(topic);
        using var first = InitializedProducer(cluster, "tx-fence-retry");
        var (pid, epoch) = cluster.Front.ProducerOf("tx-fence-retry")!.Value;
        await ProduceInNewTransactionAsync(first, topic, "old");

        // The front's own abort (EndTxn) or bump (InitProducerId) gets CONCURRENT_TRANSACTIONS once: the new producer is
        // told so, retries, and the retry fences.
        cluster.Mock.PushRequestErrors(failing, 51);
        using var second = InitializedProducer(cluster, "tx-fence-retry");
        Assert.Equal((pid, (short)(epoch + 1)), cluster.Front.ProducerOf("tx-fence-retry"));
        Assert.Equal(1, cluster.Front.FencedProducers);
        Assert.Equal(1, cluster.Front.AbortedTransactions);

        await ProduceInNewTransactionAsync(second, topic, "new");
        second.CommitTransaction(Bound);
        Assert.Equal([(2L, "new")], Read(cluster, topic, IsolationLevel.ReadCommitted)); // old @0, ABORT @1
        Assert.Empty(cluster.Front.Errors);
    }

    [Theory]
    [InlineData("commit")]
    [InlineData("abort")]
    [InlineData("offsets")]
    public async Task AFencedProducersNextTransactionCallIsRefusedAsFenced(string call)
    {
        const string topic = "txn-fence-call";
        await using var cluster = Start(topic);
        using var first = InitializedProducer(cluster, "tx-fence-" + call);
        await ProduceInNewTransactionAsync(first, topic, "old"); // acknowledged before the fence: nothing left to send

        using var second = InitializedProducer(cluster, "tx-fence-" + call);

        using var groupMember = cluster.GroupConsumer("g-fence-" + Guid.NewGuid().ToString("N"));
        var e = Assert.ThrowsAny<KafkaException>(() =>
        {
            switch (call)
            {
                case "commit":
                    first.CommitTransaction(Bound);
                    break;
                case "abort":
                    first.AbortTransaction(Bound);
                    break;
                default:
                    first.SendOffsetsToTransaction([new TopicPartitionOffset(topic, 0, 1)], groupMember.ConsumerGroupMetadata, Bound);
                    break;
            }
        });
        output.WriteLine($"{call}: {e.Error.Code} fatal={e.Error.IsFatal}: {e.Message}");
        // librdkafka: PRODUCER_FENCED is fatal; on SendOffsetsToTransaction it reports Local_Fenced without the fatal flag.
        Assert.True(e.Error.IsFatal || e.Error.Code == ErrorCode.Local_Fenced, e.Message);
        Assert.Equal(1, cluster.Front.RefusedStaleRequests); // refused at the proxy (PRODUCER_FENCED), never forwarded
        Assert.Equal(1, cluster.Front.AbortedTransactions); // by the fence
        Assert.Empty(Read(cluster, topic, IsolationLevel.ReadCommitted));
        Assert.Empty(cluster.Front.Errors);
    }

    [Fact]
    public async Task AnOpenTransactionHoldsBackLaterCommittedRecordsOfOtherProducersUntilItEnds()
    {
        const string topic = "txn-interleave";
        await using var cluster = Start(topic);
        using var slow = InitializedProducer(cluster, "tx-slow");
        using var quick = InitializedProducer(cluster, "tx-quick");

        await ProduceInNewTransactionAsync(slow, topic, "s1"); // 0, open
        await ProduceInNewTransactionAsync(quick, topic, "q1"); // 1
        quick.CommitTransaction(Bound); // COMMIT marker at 2
        await ProduceAsync(slow, topic, "s2"); // 3

        Assert.Empty(Read(cluster, topic, IsolationLevel.ReadCommitted)); // the last stable offset is 0
        slow.AbortTransaction(Bound); // ABORT marker at 4
        await ProduceInNewTransactionAsync(quick, topic, "q2"); // 5
        quick.CommitTransaction(Bound); // 6

        var committed = Read(cluster, topic, IsolationLevel.ReadCommitted);
        Show("read_committed", committed);
        Assert.Equal([(1L, "q1"), (5L, "q2")], committed);
        Assert.Equal([(0L, "s1"), (1L, "q1"), (3L, "s2"), (5L, "q2")], Read(cluster, topic, IsolationLevel.ReadUncommitted));
        Assert.Empty(cluster.Front.Errors);
    }

    [Fact]
    public async Task OffsetsOfAJoinedGroupMemberAreCommittedWithItsMemberIdAndGeneration()
    {
        const string topic = "txn-out-joined";
        var group = "gj-" + Guid.NewGuid().ToString("N");
        await using var cluster = Start(topic);
        var tp = CreateInputPartition(cluster, "txn-in-joined");

        using var member = cluster.GroupConsumer(group);
        member.Subscribe(tp.Topic);
        var deadline = DateTime.UtcNow + Bound;
        while (member.Assignment.Count == 0 && DateTime.UtcNow < deadline)
        {
            member.Consume(TimeSpan.FromMilliseconds(200));
        }

        Assert.NotEmpty(member.Assignment);
        using var producer = InitializedProducer(cluster, "tx-offsets-joined");
        await ProduceInNewTransactionAsync(producer, topic, "x");
        producer.SendOffsetsToTransaction([new TopicPartitionOffset(tp, 5)], member.ConsumerGroupMetadata, Bound);
        producer.CommitTransaction(Bound);

        Assert.Empty(cluster.Front.Errors); // the member id and generation were accepted
        Assert.Equal(new Offset(5), cluster.Committed(group, tp, Bound));
        member.Close();
    }

    [Fact]
    public async Task OffsetsSentToATransactionAreCommittedWithItAndDroppedWithAnAbort()
    {
        const string topic = "txn-out";
        var group = "g-" + Guid.NewGuid().ToString("N");
        await using var cluster = Start(topic);
        var tp = CreateInputPartition(cluster, "txn-in");

        using var consumer = cluster.GroupConsumer(group);
        consumer.Assign(new TopicPartitionOffset(tp, Offset.Beginning));
        using var producer = InitializedProducer(cluster, "tx-offsets");

        await ProduceInNewTransactionAsync(producer, topic, "x");
        producer.SendOffsetsToTransaction([new TopicPartitionOffset(tp, 3)], consumer.ConsumerGroupMetadata, Bound);
        Assert.Equal(Offset.Unset, cluster.Committed(group, tp, Bound, IsolationLevel.ReadUncommitted)); // not before the commit (read_committed: retry)
        producer.CommitTransaction(Bound);
        Assert.Equal(new Offset(3), cluster.Committed(group, tp, Bound));

        await ProduceInNewTransactionAsync(producer, topic, "y");
        producer.SendOffsetsToTransaction([new TopicPartitionOffset(tp, 7)], consumer.ConsumerGroupMetadata, Bound);
        producer.AbortTransaction(Bound);
        Assert.Equal(new Offset(3), cluster.Committed(group, tp, Bound));
        Assert.Equal(1, cluster.Front.CommittedOffsetRequests);
        Assert.Empty(cluster.Front.Errors);
    }

    [Fact]
    public async Task WithoutTheFrontTheMockShowsAbortedRecordsToReadCommitted()
    {
        // The control: what the front corrects. (check.crcs would fail on the mock's markers, so it is off here.)
        const string topic = "txn-bare";
        await using var cluster = Start(topic, front: false);
        using var producer = InitializedProducer(cluster, "tx-bare");
        await ProduceInNewTransactionAsync(producer, topic, "a1");
        producer.AbortTransaction(Bound);

        Assert.Equal(["a1"], ReadFrom(cluster, topic, Offset.Beginning, checkCrcs: false));
    }

    [Fact]
    public async Task ARequireStableOffsetFetchIsToldToRetryWhileTheTransactionsOffsetsArePending()
    {
        const string topic = "txn-out-stable";
        var group = "gs-" + Guid.NewGuid().ToString("N");
        await using var cluster = Start(topic);
        var tp = CreateInputPartition(cluster, "txn-in-stable");
        using var member = cluster.GroupConsumer(group);
        member.Assign(new TopicPartitionOffset(tp, Offset.Beginning));
        using var producer = InitializedProducer(cluster, "tx-stable");
        await ProduceInNewTransactionAsync(producer, topic, "x");
        producer.SendOffsetsToTransaction([new TopicPartitionOffset(tp, 1)], member.ConsumerGroupMetadata, Bound);
        producer.CommitTransaction(Bound);

        await ProduceInNewTransactionAsync(producer, topic, "y");
        producer.SendOffsetsToTransaction([new TopicPartitionOffset(tp, 2)], member.ConsumerGroupMetadata, Bound);

        // read_committed consumers ask for stable offsets (KIP-447): while offsets wait for their transaction they get
        // UNSTABLE_OFFSET_COMMIT and retry, never the committed offset the transaction is about to replace.
        var unstable = Assert.ThrowsAny<KafkaException>(() => cluster.Committed(group, tp, TimeSpan.FromSeconds(2)));
        output.WriteLine($"while pending: {unstable.Error.Code}: {unstable.Message}");
        Assert.Equal(new Offset(1), cluster.Committed(group, tp, Bound, IsolationLevel.ReadUncommitted));

        producer.CommitTransaction(Bound);
        Assert.Equal(new Offset(2), cluster.Committed(group, tp, Bound));
        Assert.Empty(cluster.Front.Errors);
    }

    /// <summary>Creates the one-partition topic <paramref name="input"/>, whose offsets a test sends to transactions.</summary>
    private static TopicPartition CreateInputPartition(FrontedCluster cluster, string input)
    {
        cluster.Mock.CreateTopic(input, 1);
        return new TopicPartition(input, 0);
    }
}
