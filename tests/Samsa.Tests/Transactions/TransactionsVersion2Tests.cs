using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Testing.Proxy;

namespace Samsa.Tests.Transactions;

/// <summary>
/// Samsa's transactional producer against the scripted <see cref="Kip890Broker"/>: with <c>transaction.version</c> 2 it
/// uses KIP-890's second protocol (no AddPartitionsToTxn nor AddOffsetsToTxn, Produce v12, TxnOffsetCommit v5, EndTxn v5
/// and the epoch EndTxn answers); with 0 the classic one. The broker's <see cref="TransactionOracle"/> checks the rules.
/// </summary>
public sealed class TransactionsVersion2Tests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static IProducer<string, string> Build(Kip890Broker broker, string transactionalId) =>
        new ProducerBuilder<string, string>(new ProducerOptions
        {
            BootstrapServers = [broker.BootstrapServers],
            TransactionalId = transactionalId,
            RetryBackoff = TimeSpan.FromMilliseconds(20),
            MaxBlock = Bound,
        }).Build();

    /// <summary>One transaction: <paramref name="records"/> records over partitions 0 and 1 of "out", the offsets of "in" 0, then commit or abort.</summary>
    private static async Task RunTransactionAsync(IProducer<string, string> producer, int records, long inputOffset, bool commit)
    {
        producer.BeginTransaction();
        for (var i = 0; i < records; i++)
        {
            producer.Produce(new ProducerRecord<string, string>("out", i % 2, $"k{i}", $"v{i}"));
        }

        await producer.SendOffsetsToTransactionAsync([new TopicPartitionOffset("in", 0, inputOffset)], new ConsumerGroupMetadata("grp", 3, "member-1"), CancellationToken.None).AsTask().WaitAsync(Bound);
        if (commit)
        {
            await producer.CommitTransactionAsync(CancellationToken.None).AsTask().WaitAsync(Bound);
        }
        else
        {
            await producer.AbortTransactionAsync(CancellationToken.None).AsTask().WaitAsync(Bound);
        }
    }

    private static List<(short Epoch, bool Transactional)> BatchesOf(RecordedRequest produce) =>
        [.. produce.Batches.Select(b => (b.Batch.ProducerEpoch, b.Batch.IsTransactional))];

    [Fact]
    public async Task Version2SendsNoAddsAndTheNextTransactionUsesTheEpochEndTxnAnswered()
    {
        await using var broker = Kip890Broker.Start();
        await using var producer = Build(broker, "v2-txn");
        await producer.InitTransactionsAsync(CancellationToken.None).AsTask().WaitAsync(Bound);
        Assert.Equal(0, broker.CurrentEpoch);

        await RunTransactionAsync(producer, 10, 11, commit: true);
        var producesOfFirst = broker.Of(ApiKey.Produce).Count;
        await RunTransactionAsync(producer, 6, 17, commit: true);

        Assert.Empty(broker.Of(ApiKey.AddPartitionsToTxn));
        Assert.Empty(broker.Of(ApiKey.AddOffsetsToTxn));
        var produces = broker.Of(ApiKey.Produce);
        Assert.All(produces, p => Assert.Equal(12, p.Version));
        Assert.All(produces, p => Assert.Equal("v2-txn", Assert.IsType<ProduceRequest>(p.Body).TransactionalId));
        Assert.All(broker.Of(ApiKey.TxnOffsetCommit), r => Assert.Equal(5, r.Version));

        var ends = broker.Of(ApiKey.EndTxn);
        Assert.Equal([5, 5], ends.Select(e => (int)e.Version));
        Assert.Equal([0, 1], ends.Select(e => (int)Assert.IsType<EndTxnRequest>(e.Body).ProducerEpoch));
        Assert.Equal(2, broker.CurrentEpoch);

        // The first transaction's batches carry epoch 0, the second's the epoch 1 that the first EndTxn v5 answered.
        Assert.All(produces.Take(producesOfFirst).SelectMany(BatchesOf), b => Assert.Equal((0, true), (b.Epoch, b.Transactional)));
        Assert.All(produces.Skip(producesOfFirst).SelectMany(BatchesOf), b => Assert.Equal((1, true), (b.Epoch, b.Transactional)));
        Assert.Equal(16, produces.SelectMany(p => p.Batches).Sum(b => b.Batch.RecordCount));

        Assert.Empty(broker.Errors);
        broker.Oracle.Verify();
        var report = broker.Oracle.Report();
        Assert.Equal(2, report.Committed);
        Assert.All(report.Transactions, t => Assert.True(t.UsesTransactionsVersion2));
        Assert.Equal(17, broker.Oracle.CommittedOffsets("grp")[new TopicPartition("in", 0)]);
    }

    [Fact]
    public async Task AnAbortInVersion2AlsoBumpsTheEpoch()
    {
        await using var broker = Kip890Broker.Start();
        await using var producer = Build(broker, "v2-abort");
        await producer.InitTransactionsAsync(CancellationToken.None).AsTask().WaitAsync(Bound);

        await RunTransactionAsync(producer, 4, 5, commit: false);
        await RunTransactionAsync(producer, 4, 5, commit: true);

        var ends = broker.Of(ApiKey.EndTxn).Select(e => Assert.IsType<EndTxnRequest>(e.Body)).ToList();
        Assert.Equal([(false, 0), (true, 1)], ends.Select(e => (e.Committed, (int)e.ProducerEpoch)));
        Assert.Empty(broker.Errors);
        broker.Oracle.Verify();
        Assert.Equal((1, 1), (broker.Oracle.Report().Committed, broker.Oracle.Report().Aborted));
        Assert.Equal(5, broker.Oracle.CommittedOffsets("grp")[new TopicPartition("in", 0)]);
    }

    [Fact]
    public async Task ARetriedEndTxnV5TakesTheEpochFromTheAnswerThatSucceeded()
    {
        await using var broker = Kip890Broker.Start();
        broker.FailNext(ApiKey.EndTxn, 51); // CONCURRENT_TRANSACTIONS: retriable
        await using var producer = Build(broker, "v2-retry");
        await producer.InitTransactionsAsync(CancellationToken.None).AsTask().WaitAsync(Bound);

        await RunTransactionAsync(producer, 3, 3, commit: true);
        // The first transaction's records may leave in one Produce request or several, as linger and scheduling decide.
        var producesOfFirst = broker.Of(ApiKey.Produce).Count;
        await RunTransactionAsync(producer, 3, 6, commit: true);

        var ends = broker.Of(ApiKey.EndTxn).Select(e => (int)Assert.IsType<EndTxnRequest>(e.Body).ProducerEpoch).ToList();
        Assert.Equal([0, 0, 1], ends);
        Assert.All(broker.Of(ApiKey.Produce).Take(producesOfFirst).SelectMany(BatchesOf), b => Assert.Equal(0, b.Epoch));
        Assert.All(broker.Of(ApiKey.Produce).Skip(producesOfFirst).SelectMany(BatchesOf), b => Assert.Equal(1, b.Epoch));
        Assert.Empty(broker.Errors);
        broker.Oracle.Verify();
    }

    [Fact]
    public async Task WithoutTransactionVersion2TheClassicProtocolIsUsed()
    {
        await using var broker = Kip890Broker.Start(transactionVersion: 0);
        await using var producer = Build(broker, "classic-txn");
        await producer.InitTransactionsAsync(CancellationToken.None).AsTask().WaitAsync(Bound);

        await RunTransactionAsync(producer, 6, 7, commit: true);
        await RunTransactionAsync(producer, 6, 9, commit: true);

        Assert.NotEmpty(broker.Of(ApiKey.AddPartitionsToTxn));
        Assert.Equal(2, broker.Of(ApiKey.AddOffsetsToTxn).Count);
        Assert.All(broker.Of(ApiKey.Produce), p => Assert.True(p.Version <= 11, $"Produce v{p.Version}"));
        Assert.All(broker.Of(ApiKey.TxnOffsetCommit), r => Assert.True(r.Version <= 4, $"TxnOffsetCommit v{r.Version}"));
        Assert.All(broker.Of(ApiKey.EndTxn), r => Assert.True(r.Version <= 4, $"EndTxn v{r.Version}"));
        Assert.All(broker.Of(ApiKey.Produce).SelectMany(BatchesOf), b => Assert.Equal((0, true), (b.Epoch, b.Transactional)));

        Assert.Empty(broker.Errors);
        broker.Oracle.Verify();
        Assert.Equal(2, broker.Oracle.Report().Committed);
        Assert.All(broker.Oracle.Report().Transactions, t => Assert.False(t.UsesTransactionsVersion2));
    }
}
