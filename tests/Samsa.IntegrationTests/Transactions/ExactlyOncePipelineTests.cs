namespace Samsa.IntegrationTests.Transactions;

using System.Globalization;
using Confluent.Kafka;
using Samsa.IntegrationTests.Infrastructure;
using Samsa.Testing;
using Samsa.Testing.Proxy;
using Xunit.Abstractions;
using SamsaOffset = Samsa.TopicPartitionOffset;

/// <summary>
/// Exactly-once consume-transform-produce: a Confluent.Kafka consumer in a group (read_committed, no auto commit) and a
/// Samsa transactional producer that puts each batch's output and the consumed offsets in one transaction. The pipeline
/// is killed at random points and restarted; at the end every input record is in the committed output exactly once, in
/// its partition's order.
/// </summary>
/// <remarks>
/// <para>On the bare mock, two stand-ins for what librdkafka's mock cluster does not do (measured; Samsa.Testing's README,
/// "Transactions on the mock"): it stores no offsets for TxnOffsetCommit, and it hides no aborted records from
/// read_committed consumers. Everything goes through a <see cref="KafkaProxy"/>, whose <see cref="TransactionOracle"/> sees
/// every transaction request and answer: the restarted consumer starts from <see cref="TransactionOracle.CommittedOffsets"/>
/// (the offsets of committed transactions, as a group coordinator would hold them), and the committed output is what the
/// oracle classifies as committed. Behind the <see cref="TransactionFront"/> neither stand-in is needed: the restarted
/// consumer starts from its group's own committed offsets, which only the transactions commit. The oracle also checks
/// Samsa's transaction protocol (<see cref="TransactionOracle.Verify"/>).</para>
/// <para>The seed is printed; set SAMSA_EOS_SEED to replay a run.</para>
/// </remarks>
public sealed class ExactlyOncePipelineTests(ITestOutputHelper output)
{
    private const string Input = "eos-in";
    private const string Output = "eos-out";
    private const string Group = "eos-group";
    private const string TransactionalId = "eos-pipeline";
    private const int Partitions = 4;
    private const int InputCount = 2000;
    private const int Kills = 6;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    /// <summary>Where a run of the pipeline dies.</summary>
    private enum Kill
    {
        None,

        /// <summary>The producer is disposed in the middle of a transaction, without commit or abort.</summary>
        DisposeProducerMidTransaction,

        /// <summary>The consumer is disposed without Close (no LeaveGroup, no commit), and the producer with it.</summary>
        ConsumerAbruptly,

        /// <summary>The transaction is aborted, then the pipeline stops.</summary>
        AbortMidTransaction,

        /// <summary>Dies after SendOffsetsToTransaction, before the commit (in the control: after the commit, before the
        /// consumer commits the offsets).</summary>
        AfterSendingOffsets,
    }

    /// <param name="Kind">How it dies.</param>
    /// <param name="AtBatch">In which batch of this life (0: before its first commit).</param>
    /// <param name="AtRecord">After how many records of the batch were produced (for the mid-transaction kills).</param>
    /// <param name="FlushFirst">Flush before dying, so the open transaction's records are on the broker.</param>
    private sealed record KillPlan(Kill Kind, int AtBatch, int AtRecord, bool FlushFirst);

    /// <summary>The counts of one scenario, for the assertions and the report.</summary>
    private sealed record Outcome(int Inputs, int Kills, int Runs, int Outputs, List<string> Duplicates, List<string> Missing, bool InOrder, TransactionReport Report, IReadOnlyList<string> ProxyErrors)
    {
        /// <summary>Each input partition's end offset.</summary>
        public IReadOnlyList<long> InputEnds { get; init; } = [];

        /// <summary>The offsets of committed transactions per the oracle, by input partition (-1: none).</summary>
        public IReadOnlyList<long> OracleOffsets { get; init; } = [];

        /// <summary>Behind the front: the group's committed offsets as a new read_committed member of the group reads them.</summary>
        public IReadOnlyList<long>? GroupOffsets { get; init; }

        /// <summary>Behind the front: its errors (its own requests to the mock that failed).</summary>
        public IReadOnlyList<string> FrontErrors { get; init; } = [];

        /// <summary>The committed output per the oracle, by partition then offset.</summary>
        public IReadOnlyList<string> CommittedValues { get; init; } = [];

        /// <summary>Behind the front: what Confluent's read_committed consumer read, by partition then offset.</summary>
        public IReadOnlyList<string>? ReadCommitted { get; init; }
    }

    [Fact]
    public async Task EachInputRecordIsInTheCommittedOutputExactlyOnceDespiteKillsAndRestarts()
    {
        var result = await RunScenarioAsync(offsetsInTransaction: true);

        result.Report.Violations.ToList().ForEach(v => output.WriteLine("violation: " + v));
        Assert.Empty(result.Report.Violations);
        Assert.Empty(result.ProxyErrors);
        Assert.Empty(result.Duplicates);
        Assert.Empty(result.Missing);
        Assert.Equal(result.Inputs, result.Outputs);
        Assert.True(result.InOrder, "the committed outputs of a partition are not in input order");
        Assert.True(result.Kills >= Kills / 2, $"only {result.Kills} kills took effect");
    }

    /// <summary>
    /// The same pipeline behind the proxy's <see cref="TransactionFront"/>, which makes the mock filter read_committed
    /// fetches and store transactional offsets as a broker does: every restarted consumer starts from its group's committed
    /// offsets (Confluent's consumer, read_committed, as a real pipeline would), which only the transactions commit; a
    /// read_committed consumer (Confluent's, with CRC checks) reads the output back, and what it sees must be exactly what the
    /// <see cref="TransactionOracle"/> calls committed: each input once, in order. At the end the group's offsets are the
    /// inputs' ends, as the oracle says the committed transactions left them: offsets and output were committed together.
    /// </summary>
    [Fact]
    public async Task BehindTheTransactionFrontAReadCommittedConsumerSeesEachInputExactlyOnce()
    {
        var result = await RunScenarioAsync(offsetsInTransaction: true, front: true);

        Assert.Empty(result.Report.Violations);
        Assert.Empty(result.ProxyErrors);
        Assert.Empty(result.FrontErrors);
        Assert.Equal(result.InputEnds, result.GroupOffsets);
        Assert.Equal(result.OracleOffsets, result.GroupOffsets);
        Assert.True(result.Kills >= Kills / 2, $"only {result.Kills} kills took effect");
        Assert.Empty(result.Duplicates);
        Assert.Empty(result.Missing);
        Assert.True(result.InOrder, "the committed outputs of a partition are not in input order");
        Assert.NotNull(result.ReadCommitted);
        Assert.Equal(result.CommittedValues, result.ReadCommitted);
    }

    /// <summary>
    /// The control experiment, showing that the test above can fail: the same pipeline with the offsets committed by the
    /// consumer after the transaction (at-least-once), killed between the two, processes those batches twice.
    /// </summary>
    [Fact]
    public async Task TheControlWithOffsetsCommittedOutsideTheTransactionHasDuplicates()
    {
        var result = await RunScenarioAsync(offsetsInTransaction: false);

        Assert.NotEmpty(result.Duplicates);
        Assert.Empty(result.Missing);
    }

    private async Task<Outcome> RunScenarioAsync(bool offsetsInTransaction, bool front = false)
    {
        var seed = Environment.GetEnvironmentVariable("SAMSA_EOS_SEED") is { Length: > 0 } s
            ? int.Parse(s, CultureInfo.InvariantCulture)
            : Random.Shared.Next();
        output.WriteLine($"seed {seed} (replay with SAMSA_EOS_SEED={seed}); offsets {(offsetsInTransaction ? "in the transaction (exactly once)" : "committed by the consumer after it (at-least-once control)")}{(front ? ", behind the TransactionFront" : "")}");
        var random = new Random(seed);

        ConfluentLoader.EnsureLoaded();
        using var cluster = MockCluster.Start(3);
        cluster.CreateTopic(Input, Partitions);
        cluster.CreateTopic(Output, Partitions);
        await using var proxy = KafkaProxy.Start(cluster);
        if (front)
        {
            proxy.EnableTransactionFront(); // before any client connects
        }

        var ends = FillInput(proxy.BootstrapServers);

        var runs = 0;
        var kills = new List<KillPlan>();
        var firstKind = random.Next(4); // every kind of kill comes up, starting from a seeded one
        var ranToTheEnd = false;
        while (offsetsInTransaction ? !AllConsumed(proxy.Transactions, ends) : !ranToTheEnd)
        {
            Assert.True(runs < Kills + 5, $"the pipeline made no progress after {runs} runs ({proxy.Transactions.Report()})");
            var kind = offsetsInTransaction ? (Kill)(1 + ((firstKind + kills.Count) % 4)) : Kill.AfterSendingOffsets;
            var plan = kills.Count < Kills
                ? new KillPlan(kind, random.Next(0, 3), random.Next(0, 40), random.Next(2) == 0)
                : new KillPlan(Kill.None, 0, 0, false);
            runs++;
            var died = await RunPipelineAsync(proxy, plan, random, offsetsInTransaction, groupOffsets: !offsetsInTransaction || front);
            if (died)
            {
                kills.Add(plan);
            }

            ranToTheEnd = !died;
            output.WriteLine($"run {runs}: {plan.Kind}{(plan.Kind == Kill.None ? "" : $" at batch {plan.AtBatch}, record {plan.AtRecord}{(plan.FlushFirst ? ", flushed first" : "")}")}{(died ? ", killed" : ", ran to the end")}; committed offsets {Describe(proxy.Transactions.CommittedOffsets(Group))}");
        }

        // The reads: what a real read_committed consumer would see, what the mock shows read_uncommitted, and the mock's
        // own (unfiltered) read_committed for contrast.
        var uncommitted = TransactionalReader.Read(proxy.BootstrapServers, Output, IsolationLevel.ReadUncommitted, proxy.Transactions);
        var mockCommitted = TransactionalReader.Read(proxy.BootstrapServers, Output, IsolationLevel.ReadCommitted, proxy.Transactions);
        var committed = uncommitted.Where(r => r.Outcome == TransactionOutcome.Committed).ToList();
        var aborted = uncommitted.Where(r => r.Outcome == TransactionOutcome.Aborted).ToList();
        var report = proxy.Transactions.Report();

        var inputs = Enumerable.Range(0, Partitions).SelectMany(p => Enumerable.Range(0, (int)ends[p]).Select(i => InputValue(p, i))).ToList();
        var outputs = committed.Select(r => r.Value!).ToList();
        var duplicates = outputs.GroupBy(v => v, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => $"{g.Key} x{g.Count()}").ToList();
        var missing = inputs.Select(Transform).Except(outputs, StringComparer.Ordinal).ToList();
        var inOrder = Enumerable.Range(0, Partitions).All(partition =>
            Enumerable.Range(0, (int)ends[partition]).Select(i => Transform(InputValue(partition, i)))
                .SequenceEqual(committed.Where(r => r.Partition == partition).Select(r => r.Value!), StringComparer.Ordinal));
        output.WriteLine($"{(offsetsInTransaction ? "EXACTLY-ONCE" : "CONTROL (at-least-once)")}: inputs {inputs.Count}, kills {kills.Count} ({string.Join(", ", kills.Select(k => k.Kind))}), runs {runs}, " +
                         $"committed outputs {outputs.Count}, duplicates {duplicates.Count}, missing {missing.Count}, in order {inOrder}");
        output.WriteLine($"read_uncommitted: {uncommitted.Count} records ({aborted.Count} from aborted transactions, " +
                         $"{uncommitted.Count(r => r.Outcome is TransactionOutcome.Open or TransactionOutcome.Ending or TransactionOutcome.InDoubt)} open or in doubt); " +
                         (front ? $"read_committed through the front returned {mockCommitted.Count}" : $"the mock's read_committed returned {mockCommitted.Count} (it does not filter)"));
        output.WriteLine($"transactions: {report}");

        List<string>? readCommitted = null;
        long[]? groupOffsets = null;
        if (front)
        {
            // A real read_committed consumer, CRC checks on: the front keeps the last stable offset, the aborted
            // transactions and the markers' CRCs as a broker does.
            readCommitted = [.. Enumerable.Range(0, Partitions).SelectMany(p =>
                RecordReader.ReadPartition(proxy.BootstrapServers, Output, p, isolation: IsolationLevel.ReadCommitted)
                    .Select(r => System.Text.Encoding.UTF8.GetString(r.Value!)))];
            groupOffsets = GroupCommittedOffsets(proxy.BootstrapServers);
            output.WriteLine($"behind the front, Confluent's read_committed consumer read {readCommitted.Count} records; the group's committed offsets {string.Join(" ", groupOffsets)}, " +
                             $"the inputs' ends {string.Join(" ", ends)}; offsets committed with {proxy.TransactionFront!.CommittedOffsetRequests} transactions");
            foreach (var e in proxy.TransactionFront.Errors.Take(3))
            {
                output.WriteLine("front error: " + e);
            }
        }

        var oracleOffsets = proxy.Transactions.CommittedOffsets(Group);
        return new Outcome(inputs.Count, kills.Count, runs, outputs.Count, duplicates, missing, inOrder, report, proxy.Errors)
        {
            CommittedValues = [.. committed.OrderBy(r => r.Partition).ThenBy(r => r.Offset).Select(r => r.Value!)],
            ReadCommitted = readCommitted,
            InputEnds = ends,
            OracleOffsets = [.. Enumerable.Range(0, Partitions).Select(p => oracleOffsets.TryGetValue(new Testing.Proxy.TopicPartition(Input, p), out var o) ? o : -1)],
            GroupOffsets = groupOffsets,
            FrontErrors = proxy.TransactionFront?.Errors ?? [],
        };
    }

    /// <summary>The group's committed offset per input partition (-1: none), as a new read_committed member reads them:
    /// stable offsets only (KIP-447), so none of a transaction still open.</summary>
    private static long[] GroupCommittedOffsets(string bootstrapServers)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = Group,
            IsolationLevel = IsolationLevel.ReadCommitted,
        }).SetLogHandler(static (_, _) => { }).Build();
        return [.. consumer.Committed(Enumerable.Range(0, Partitions).Select(p => new Confluent.Kafka.TopicPartition(Input, p)), Bound)
            .OrderBy(o => o.Partition.Value).Select(o => o.Offset.Value)];
    }

    private static string InputValue(int partition, int index) => $"in-{partition}-{index:D5}";

    private static string Transform(string value) => "out-" + value[3..];

    private static string Describe(IReadOnlyDictionary<Testing.Proxy.TopicPartition, long> offsets) =>
        string.Join(" ", offsets.OrderBy(o => o.Key.Partition).Select(o => $"{o.Key.Partition}:{o.Value}"));

    private static bool AllConsumed(TransactionOracle oracle, long[] ends)
    {
        var committed = oracle.CommittedOffsets(Group);
        return Enumerable.Range(0, Partitions).All(p => committed.TryGetValue(new Testing.Proxy.TopicPartition(Input, p), out var o) && o >= ends[p]);
    }

    /// <summary>Writes <see cref="InputCount"/> numbered records, spread evenly over the partitions; returns each partition's end offset.</summary>
    private static long[] FillInput(string bootstrapServers)
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = bootstrapServers, Acks = Acks.All, LingerMs = 5 })
            .SetLogHandler(static (_, _) => { }).Build();
        var ends = new long[Partitions];
        for (var i = 0; i < InputCount; i++)
        {
            var partition = i % Partitions;
            var index = (int)ends[partition]++;
            producer.Produce(new Confluent.Kafka.TopicPartition(Input, partition), new Message<string, string> { Key = $"k{i}", Value = InputValue(partition, index) });
        }

        producer.Flush(Bound);
        return ends;
    }

    /// <summary>One life of the pipeline: returns true when it was killed, false when the input ran out.</summary>
    private static async Task<bool> RunPipelineAsync(KafkaProxy proxy, KillPlan plan, Random random, bool offsetsInTransaction, bool groupOffsets)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = proxy.BootstrapServers,
            GroupId = Group,
            EnableAutoCommit = false,
            EnableAutoOffsetStore = false,
            IsolationLevel = IsolationLevel.ReadCommitted,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = 6000,
            HeartbeatIntervalMs = 500,
            CheckCrcs = true, // the input holds no transaction markers
        };

        // On the bare mock, a stand-in for the offsets it does not store: start where the committed transactions left off.
        var consumer = new ConsumerBuilder<string, string>(config)
            .SetLogHandler(static (_, _) => { })
            .SetErrorHandler(static (_, _) => { })
            .SetPartitionsAssignedHandler((_, assigned) => assigned.Select(tp =>
                groupOffsets
                    ? new Confluent.Kafka.TopicPartitionOffset(tp, Offset.Unset) // the group's own committed offsets (the control, and behind the front)
                    : proxy.Transactions.CommittedOffsets(Group).TryGetValue(new Testing.Proxy.TopicPartition(tp.Topic, tp.Partition.Value), out var o)
                        ? new Confluent.Kafka.TopicPartitionOffset(tp, o)
                        : new Confluent.Kafka.TopicPartitionOffset(tp, Offset.Beginning)))
            .Build();
        var producer = new Samsa.ProducerBuilder<string, string>(new ProducerOptions
        {
            BootstrapServers = proxy.BootstrapServers.Split(','),
            TransactionalId = TransactionalId,
            MaxBlock = Bound,
        }).Build();
        var closed = false;
        try
        {
            // Fences whatever the previous life left open: the coordinator aborts its transaction.
            await producer.InitTransactionsAsync(CancellationToken.None).AsTask().WaitAsync(Bound);
            consumer.Subscribe(Input);

            for (var batchNo = 0; ; batchNo++)
            {
                var batch = ConsumeBatch(consumer, random.Next(20, 150));
                if (batch.Count == 0)
                {
                    return false; // nothing more to read
                }

                producer.BeginTransaction();
                for (var i = 0; i < batch.Count; i++)
                {
                    if (plan.Kind is Kill.DisposeProducerMidTransaction or Kill.ConsumerAbruptly && batchNo == plan.AtBatch && i == Math.Min(plan.AtRecord, batch.Count - 1))
                    {
                        if (plan.FlushFirst)
                        {
                            await producer.FlushAsync().WaitAsync(Bound);
                        }

                        if (plan.Kind == Kill.ConsumerAbruptly)
                        {
                            consumer.Dispose(); // no Close: the group learns of it by the session timeout
                            closed = true;
                        }

                        return true; // the finally disposes the producer mid-transaction
                    }

                    var record = batch[i];
                    producer.Produce(new ProducerRecord<string, string>(Output, record.Partition.Value, record.Message.Key, Transform(record.Message.Value)));
                }

                if (plan.Kind == Kill.AbortMidTransaction && batchNo == plan.AtBatch)
                {
                    if (plan.FlushFirst)
                    {
                        await producer.FlushAsync().WaitAsync(Bound);
                    }

                    await producer.AbortTransactionAsync(CancellationToken.None).AsTask().WaitAsync(Bound);
                    return true;
                }

                var offsets = batch.GroupBy(r => r.TopicPartition)
                    .Select(g => new SamsaOffset(g.Key.Topic, g.Key.Partition.Value, g.Max(r => r.Offset.Value) + 1)).ToList();
                if (!offsetsInTransaction)
                {
                    // The control: output committed first, offsets by the consumer afterwards; a kill in between repeats the batch.
                    await producer.CommitTransactionAsync(CancellationToken.None).AsTask().WaitAsync(Bound);
                    if (plan.Kind == Kill.AfterSendingOffsets && batchNo == plan.AtBatch)
                    {
                        return true;
                    }

                    consumer.Commit(offsets.Select(o => new Confluent.Kafka.TopicPartitionOffset(o.Topic, o.Partition, o.Offset)));
                    continue;
                }

                await producer.SendOffsetsToTransactionAsync(offsets, ConfluentGroupMetadata.From(consumer, config), CancellationToken.None).AsTask().WaitAsync(Bound);
                if (plan.Kind == Kill.AfterSendingOffsets && batchNo == plan.AtBatch)
                {
                    return true;
                }

                await producer.CommitTransactionAsync(CancellationToken.None).AsTask().WaitAsync(Bound);
            }
        }
        finally
        {
            await producer.DisposeAsync();
            if (!closed)
            {
                consumer.Close();
                consumer.Dispose();
            }
        }
    }

    /// <summary>Up to <paramref name="max"/> records; fewer when the input pauses. Waits for the first assignment.</summary>
    private static List<ConsumeResult<string, string>> ConsumeBatch(IConsumer<string, string> consumer, int max)
    {
        var batch = new List<ConsumeResult<string, string>>(max);
        var deadline = DateTime.UtcNow + Bound;
        var quietPolls = 0;
        while (batch.Count < max && DateTime.UtcNow < deadline)
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (r?.Message is not null)
            {
                batch.Add(r);
                quietPolls = 0;
                continue;
            }

            // Before the first assignment nothing comes; after it, a few quiet polls mean the input is drained for now.
            if (consumer.Assignment.Count > 0 && ++quietPolls >= (batch.Count > 0 ? 1 : 10))
            {
                break;
            }
        }

        return batch;
    }
}
