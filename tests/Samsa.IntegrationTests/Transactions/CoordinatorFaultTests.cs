namespace Samsa.IntegrationTests.Transactions;

using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;
using Xunit.Abstractions;

/// <summary>
/// Faults at the transaction coordinator in the middle of a transaction, each checked for "nothing half-visible": the
/// producer's verdict (commit returned, or threw) and the <see cref="TransactionOracle"/>'s (what a read_committed
/// consumer would see, and the offsets a group coordinator would hold) agree, and every record of the transaction, and
/// its consumer offsets, share one fate.
/// </summary>
public sealed class CoordinatorFaultTests(ITestOutputHelper output)
{
    private const string Topic = "faults";
    private const string Input = "faults-in";
    private const string Group = "faults-group";
    private const int Records = 40;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    // The consumer offsets each transaction carries with its records.
    private static readonly TopicPartitionOffset[] Offsets = [new(Input, 0, 17), new(Input, 1, 5)];

    public enum Fault
    {
        /// <summary>EndTxn answered NOT_COORDINATOR once: find the coordinator again and retry.</summary>
        EndTxnNotCoordinator,

        /// <summary>EndTxn answered CONCURRENT_TRANSACTIONS twice: retry with backoff.</summary>
        EndTxnConcurrentTransactions,

        /// <summary>AddPartitionsToTxn answered CONCURRENT_TRANSACTIONS: retry before the batches go.</summary>
        AddPartitionsConcurrentTransactions,

        /// <summary>AddPartitionsToTxn answered NOT_COORDINATOR: find the coordinator again and retry before the batches go.</summary>
        AddPartitionsNotCoordinator,

        /// <summary>AddPartitionsToTxn answered COORDINATOR_LOAD_IN_PROGRESS: retry with backoff before the batches go.</summary>
        AddPartitionsLoadInProgress,

        /// <summary>The coordinator broker is down when the first records ask for their partitions to be added, and comes back a moment later.</summary>
        CoordinatorDownDuringAddPartitions,

        /// <summary>The coordinator broker is down when the offsets are sent (AddOffsetsToTxn), and comes back a moment later.</summary>
        CoordinatorDownDuringSendOffsets,

        /// <summary>EndTxn's answer is lost (the mock committed): the request times out and is sent again.</summary>
        EndTxnAnswerLost,

        /// <summary>The coordinator broker is down when the commit starts, and comes back a moment later.</summary>
        CoordinatorDownDuringCommit,
    }

    [Theory]
    [InlineData(Fault.EndTxnNotCoordinator)]
    [InlineData(Fault.EndTxnConcurrentTransactions)]
    [InlineData(Fault.AddPartitionsConcurrentTransactions)]
    [InlineData(Fault.AddPartitionsNotCoordinator)]
    [InlineData(Fault.AddPartitionsLoadInProgress)]
    [InlineData(Fault.CoordinatorDownDuringAddPartitions)]
    [InlineData(Fault.CoordinatorDownDuringSendOffsets)]
    [InlineData(Fault.EndTxnAnswerLost)]
    [InlineData(Fault.CoordinatorDownDuringCommit)]
    public async Task TheTransactionIsWhollyCommittedOrWhollyAbsent(Fault fault)
    {
        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(3);
        cluster.CreateTopic(Topic, 3);
        cluster.CreateTopic(Input, 2);
        await using var proxy = KafkaProxy.Start(cluster);
        var transactionalId = "faulty-" + fault;
        await using var producer = new ProducerBuilder<string, string>(new ProducerOptions
        {
            BootstrapServers = proxy.BootstrapServers.Split(','),
            TransactionalId = transactionalId,
            RetryBackoff = TimeSpan.FromMilliseconds(20),
            RequestTimeout = TimeSpan.FromSeconds(3),
            MaxBlock = Bound,
        }).Build();
        await producer.InitTransactionsAsync().AsTask().WaitAsync(Bound);
        var coordinator = await proxy.TransactionCoordinatorAsync(transactionalId);

        switch (fault)
        {
            case Fault.EndTxnNotCoordinator:
                cluster.PushRequestErrors(KafkaApiKey.EndTxn, 16);
                break;
            case Fault.EndTxnConcurrentTransactions:
                cluster.PushRequestErrors(KafkaApiKey.EndTxn, 51, 51);
                break;
            case Fault.AddPartitionsConcurrentTransactions:
                cluster.PushRequestErrors(KafkaApiKey.AddPartitionsToTxn, 51);
                break;
            case Fault.AddPartitionsNotCoordinator:
                cluster.PushRequestErrors(KafkaApiKey.AddPartitionsToTxn, 16);
                break;
            case Fault.AddPartitionsLoadInProgress:
                cluster.PushRequestErrors(KafkaApiKey.AddPartitionsToTxn, 14, 14);
                break;
            case Fault.EndTxnAnswerLost:
                proxy.DropResponses(KafkaApiKey.EndTxn, 1);
                break;
        }

        // The coordinator broker goes down at the fault's step and comes back a second later, while the step retries.
        Task? bringBack = null;
        void TakeDownAt(Fault step)
        {
            if (fault == step)
            {
                cluster.SetBrokerDown(coordinator);
                bringBack = Task.Delay(TimeSpan.FromSeconds(1)).ContinueWith(_ => cluster.SetBrokerUp(coordinator), TaskScheduler.Default);
            }
        }

        producer.BeginTransaction();
        TakeDownAt(Fault.CoordinatorDownDuringAddPartitions);
        for (var i = 0; i < Records; i++)
        {
            producer.Produce(new ProducerRecord<string, string>(Topic, $"k{i}", $"v{i}"));
        }

        await producer.FlushAsync().WaitAsync(Bound);
        TakeDownAt(Fault.CoordinatorDownDuringSendOffsets);
        Exception? commitError = null;
        try
        {
            await producer.SendOffsetsToTransactionAsync(Offsets, new ConsumerGroupMetadata(Group)).AsTask().WaitAsync(Bound);
            TakeDownAt(Fault.CoordinatorDownDuringCommit);
            await producer.CommitTransactionAsync().AsTask().WaitAsync(Bound);
        }
        catch (KafkaException e)
        {
            commitError = e;
        }

        if (bringBack is not null)
        {
            await bringBack;
        }

        var report = proxy.Transactions.Report();
        output.WriteLine($"{fault}: offsets and commit {(commitError is null ? "returned" : $"threw {commitError.GetType().Name}: {commitError.Message}")}; {report}");
        foreach (var t in report.Transactions)
        {
            output.WriteLine("  " + t);
        }

        proxy.Transactions.Verify();
        var read = TransactionalReader.Read(proxy.BootstrapServers, Topic, Confluent.Kafka.IsolationLevel.ReadUncommitted, proxy.Transactions);
        var outcomes = read.GroupBy(r => r.Outcome).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine("  outcomes: " + string.Join(", ", outcomes.Select(o => $"{o.Key} {o.Value}")));

        // Every fault here is retriable: the commit goes through, and the whole transaction is visible, once.
        Assert.Null(commitError);
        Assert.Equal(1, report.Committed);
        var committed = read.Where(r => r.Outcome == TransactionOutcome.Committed).Select(r => r.Value).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(Enumerable.Range(0, Records).Select(i => $"v{i}").Order(StringComparer.Ordinal), committed);
        Assert.DoesNotContain(read, r => r.Outcome is TransactionOutcome.Open or TransactionOutcome.Ending or TransactionOutcome.InDoubt);

        // The consumer offsets went with the records: the group's committed offsets are the transaction's.
        Assert.Equal(2, report.Transactions.Single(t => t.Outcome == TransactionOutcome.Committed).Offsets);
        Assert.Equal(
            Offsets.ToDictionary(o => new Samsa.Testing.Proxy.TopicPartition(o.Topic, o.Partition), o => o.Offset),
            proxy.Transactions.CommittedOffsets(Group));
    }
}
