using Samsa.Protocol;
using Samsa.Protocol.Messages;
using Samsa.Testing.Proxy;

namespace Samsa.Tests.Transactions;

/// <summary>
/// <see cref="TransactionOracle"/> fed with frames as Samsa's generated protocol code writes them (no broker, no
/// proxy): each rule is shown kept and broken.
/// </summary>
public sealed class TransactionOracleTests
{
    private const string TxnId = "txn-a";
    private const string Topic = "out";
    private const long Pid = 7000;

    /// <summary>Plays a client and its broker on one connection into an oracle.</summary>
    private sealed class Conversation(TransactionOracle oracle, int connection = 1)
    {
        private int _correlation;

        public TransactionOracle Oracle { get; } = oracle;

        public int Send(IKafkaRequest request, short version)
        {
            var id = ++_correlation;
            Oracle.OnRequest(connection, TxnWire.Request(request, version, id));
            return id;
        }

        public void Answer(int correlationId, bool flexible, Action<KafkaWriter> body) =>
            Oracle.OnResponse(connection, TxnWire.Response(correlationId, flexible, body));

        public void Init(short epoch = 0, long pid = Pid, string txnId = TxnId)
        {
            var id = Send(new InitProducerIdRequest { TransactionalId = txnId, TransactionTimeoutMs = 60_000 }, 4);
            Answer(id, true, w => new InitProducerIdResponse { ProducerId = pid, ProducerEpoch = epoch }.Write(w, 4));
        }

        public void Add(short epoch, params (int Partition, short Error)[] partitions)
        {
            var id = Send(TxnWire.AddPartitions(TxnId, Pid, epoch, Topic, [.. partitions.Select(p => p.Partition)]), 3);
            Answer(id, true, w => TxnWire.AddPartitionsAnswer(Topic, partitions).Write(w, 3));
        }

        public int ProduceRequestOnly(short version, string? txnId, short epoch, int partition, int sequence, bool transactional = true, params string[] values)
        {
            var batch = TxnWire.Batch(Pid, epoch, sequence, transactional, values.Length > 0 ? values : ["v"]);
            return Send(TxnWire.Produce(txnId, (Topic, partition, batch)), version);
        }

        public void Produce(short version, short epoch, int partition, int sequence, long baseOffset, bool transactional = true, string? txnId = TxnId, params string[] values)
        {
            var id = ProduceRequestOnly(version, txnId, epoch, partition, sequence, transactional, values);
            Answer(id, version >= 9, w => TxnWire.ProduceAnswer((Topic, partition, 0, baseOffset)).Write(w, TxnWire.LayoutVersion(ApiKey.Produce, version)));
        }

        public void AddOffsets(short epoch, string group)
        {
            var id = Send(new AddOffsetsToTxnRequest { TransactionalId = TxnId, ProducerId = Pid, ProducerEpoch = epoch, GroupId = group }, 1);
            Answer(id, false, w => new AddOffsetsToTxnResponse().Write(w, 1));
        }

        public void CommitOffsets(short version, short epoch, string group, string topic, params (int Partition, long Offset)[] offsets)
        {
            var id = Send(TxnWire.TxnOffsetCommit(TxnId, group, Pid, epoch, topic, offsets), version);
            Answer(id, version >= 3, w => TxnWire.TxnOffsetCommitAnswer(topic, [.. offsets.Select(o => (o.Partition, (short)0))]).Write(w, TxnWire.LayoutVersion(ApiKey.TxnOffsetCommit, version)));
        }

        public int EndRequestOnly(bool commit, short epoch, short version = 1) =>
            Send(new EndTxnRequest { TransactionalId = TxnId, ProducerId = Pid, ProducerEpoch = epoch, Committed = commit }, version);

        public void EndAnswer(int id, short version = 1, short error = 0, short nextEpoch = -1) =>
            Answer(id, version >= 3, w => new EndTxnResponse { ErrorCode = error, ProducerId = version >= 5 ? Pid : -1, ProducerEpoch = nextEpoch }.Write(w, version));

        public void End(bool commit, short epoch, short version = 1, short nextEpoch = -1) => EndAnswer(EndRequestOnly(commit, epoch, version), version, 0, nextEpoch);
    }

    private static Conversation Start() => new(new TransactionOracle());

    [Fact]
    public void AClassicTransactionThatFollowsTheRulesIsCommittedWithItsOffsets()
    {
        var c = Start();
        c.Init();
        c.Add(0, (0, 0), (1, 0));
        c.Produce(9, 0, partition: 0, sequence: 0, baseOffset: 0, values: ["a", "b"]);
        c.Produce(9, 0, partition: 1, sequence: 0, baseOffset: 10);
        c.AddOffsets(0, "group-1");
        c.CommitOffsets(3, 0, "group-1", "in", (0, 42), (1, 7));
        c.End(commit: true, epoch: 0);

        c.Oracle.Verify();
        var report = c.Oracle.Report();
        Assert.Equal(1, report.Committed);
        Assert.Equal(0, report.Aborted);
        Assert.Equal([2], report.BatchesPerTransaction);
        var txn = Assert.Single(report.Transactions);
        Assert.Equal(3, txn.Records);
        Assert.Equal(2, txn.StoredBatches);
        Assert.Equal([new TopicPartition(Topic, 0), new TopicPartition(Topic, 1)], txn.Partitions);
        Assert.Equal(TransactionOutcome.Committed, c.Oracle.OutcomeOf(Topic, 0, 1));
        Assert.Equal(TransactionOutcome.Committed, c.Oracle.OutcomeOf(Topic, 1, 10));
        Assert.Equal(TransactionOutcome.NotTransactional, c.Oracle.OutcomeOf(Topic, 0, 2)); // the marker's offset
        var offsets = c.Oracle.CommittedOffsets("group-1");
        Assert.Equal(42, offsets[new TopicPartition("in", 0)]);
        Assert.Equal(7, offsets[new TopicPartition("in", 1)]);
    }

    [Fact]
    public void AnAbortedTransactionHidesItsRecordsAndDropsItsOffsets()
    {
        var c = Start();
        c.Init();
        c.Add(0, (0, 0));
        c.Produce(9, 0, 0, 0, baseOffset: 0);
        c.AddOffsets(0, "g");
        c.CommitOffsets(3, 0, "g", "in", (0, 5));
        c.End(commit: true, epoch: 0);

        c.Add(0, (0, 0));
        c.Produce(9, 0, 0, 1, baseOffset: 2);
        c.AddOffsets(0, "g");
        c.CommitOffsets(3, 0, "g", "in", (0, 9));
        c.End(commit: false, epoch: 0);

        c.Oracle.Verify();
        var report = c.Oracle.Report();
        Assert.Equal((1, 1), (report.Committed, report.Aborted));
        Assert.Equal(TransactionOutcome.Committed, c.Oracle.OutcomeOf(Topic, 0, 0));
        Assert.Equal(TransactionOutcome.Aborted, c.Oracle.OutcomeOf(Topic, 0, 2));
        Assert.Equal(5, c.Oracle.CommittedOffsets("g")[new TopicPartition("in", 0)]);
    }

    [Fact]
    public void ABatchWithoutTheTransactionalBitIsAViolation()
    {
        var c = Start();
        c.Init();
        c.Add(0, (0, 0));
        c.Produce(9, 0, 0, 0, baseOffset: 0, transactional: false);

        var violation = Assert.Single(c.Oracle.Violations);
        Assert.Contains("transactional bit (0x10) is not set", violation, StringComparison.Ordinal);
        Assert.Contains("'txn-a' transaction #1", violation, StringComparison.Ordinal);
    }

    [Fact]
    public void ABatchOfATransactionalProducerWithoutTheTransactionalIdIsAViolation()
    {
        var c = Start();
        c.Init();
        c.Add(0, (0, 0));
        c.Produce(9, 0, 0, 0, baseOffset: 0, txnId: null);

        var violation = Assert.Single(c.Oracle.Violations);
        Assert.Contains("belongs to transactional id 'txn-a', but the Produce request carries no transactional id", violation, StringComparison.Ordinal);
    }

    [Fact]
    public void DataToAPartitionNotAddedIsAViolation()
    {
        var c = Start();
        c.Init();
        c.Add(0, (0, 0));
        c.Produce(9, 0, partition: 1, sequence: 0, baseOffset: 0);

        var violation = Assert.Single(c.Oracle.Violations);
        Assert.Contains("partition out[1] was not added to the transaction", violation, StringComparison.Ordinal);
    }

    [Fact]
    public void APartitionWhoseAddFailedIsNotAdded()
    {
        var c = Start();
        c.Init();
        c.Add(0, (0, 0), (1, 51)); // CONCURRENT_TRANSACTIONS for partition 1
        c.Produce(9, 0, partition: 0, sequence: 0, baseOffset: 0);
        c.Produce(9, 0, partition: 1, sequence: 0, baseOffset: 0);

        var violation = Assert.Single(c.Oracle.Violations);
        Assert.Contains("out[1] was not added", violation, StringComparison.Ordinal);
    }

    [Fact]
    public void DataSentBeforeTheAddIsAnsweredIsAViolation()
    {
        var c = Start();
        c.Init();
        var add = c.Send(TxnWire.AddPartitions(TxnId, Pid, 0, Topic, 0), 3);
        c.ProduceRequestOnly(9, TxnId, 0, 0, 0);
        c.Answer(add, true, w => TxnWire.AddPartitionsAnswer(Topic, (0, 0)).Write(w, 3));

        Assert.Contains("was not added", Assert.Single(c.Oracle.Violations), StringComparison.Ordinal);
    }

    [Fact]
    public void ABatchSentAfterEndTxnAbortIsAViolationAndVerifyReportsIt()
    {
        var c = Start();
        c.Init();
        c.Add(0, (0, 0));
        c.Produce(9, 0, 0, 0, baseOffset: 0);
        var end = c.EndRequestOnly(commit: false, epoch: 0);
        c.ProduceRequestOnly(9, TxnId, 0, 0, 1, values: ["late"]);
        c.EndAnswer(end);

        var violation = Assert.Single(c.Oracle.Violations);
        Assert.Contains("sent after EndTxn(abort) of the transaction was sent", violation, StringComparison.Ordinal);
        var e = Assert.Throws<TransactionViolationException>(c.Oracle.Verify);
        Assert.Contains("broke 1 rule(s)", e.Message, StringComparison.Ordinal);
        Assert.Contains("'txn-a' #1", e.Message, StringComparison.Ordinal);
        Assert.Contains("1 late", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, c.Oracle.Report().Aborted);
    }

    [Fact]
    public void ABatchAfterACommittedTransactionWithoutANewAddIsAViolation()
    {
        var c = Start();
        c.Init();
        c.Add(0, (0, 0));
        c.Produce(9, 0, 0, 0, baseOffset: 0);
        c.End(commit: true, epoch: 0);
        c.Produce(9, 0, 0, 1, baseOffset: 2);

        var violation = Assert.Single(c.Oracle.Violations);
        Assert.Contains("has no open transaction (transaction #1 ended with EndTxn(commit))", violation, StringComparison.Ordinal);
    }

    [Fact]
    public void AnEndTxnSentAgainAfterALostAnswerIsARetryNotANewTransaction()
    {
        var c = Start();
        c.Init();
        c.Add(0, (0, 0));
        c.Produce(9, 0, 0, 0, baseOffset: 0);
        c.End(commit: true, epoch: 0); // the coordinator committed; the client never saw the answer
        c.End(commit: true, epoch: 0); // and sends EndTxn again

        c.Oracle.Verify();
        var txn = Assert.Single(c.Oracle.Report().Transactions);
        Assert.Equal(TransactionOutcome.Committed, txn.Outcome);
    }

    [Fact]
    public void TxnOffsetCommitBeforeAddOffsetsIsAViolationInTheClassicProtocol()
    {
        var c = Start();
        c.Init();
        c.Add(0, (0, 0));
        c.CommitOffsets(3, 0, "g", "in", (0, 1));

        Assert.Contains("before AddOffsetsToTxn for that group", Assert.Single(c.Oracle.Violations), StringComparison.Ordinal);
    }

    [Fact]
    public void InitProducerIdWhileATransactionIsOpenAbortsIt()
    {
        var c = Start();
        c.Init();
        c.Add(0, (0, 0));
        c.Produce(9, 0, 0, 0, baseOffset: 0);
        c.AddOffsets(0, "g");
        c.CommitOffsets(3, 0, "g", "in", (0, 3));
        c.Init(epoch: 1); // a restarted producer with the same transactional id

        c.Oracle.Verify();
        var txn = Assert.Single(c.Oracle.Report().Transactions);
        Assert.Equal(TransactionOutcome.Aborted, txn.Outcome);
        Assert.True(txn.AbortedByInitProducerId);
        Assert.Equal(TransactionOutcome.Aborted, c.Oracle.OutcomeOf(Topic, 0, 0));
        Assert.Empty(c.Oracle.CommittedOffsets("g"));
    }

    [Fact]
    public void AProducerFencedByAnotherInitIsAZombieNotAViolator()
    {
        const long NewPid = 8000;
        var c = Start();
        c.Init();
        c.Add(0, (0, 0));
        c.Produce(9, 0, 0, 0, baseOffset: 0, values: ["before"]);
        c.Init(epoch: 0, pid: NewPid); // a second producer with the same transactional id

        // The first one goes on as if nothing happened: its batch, add and commit change nothing and break no rule.
        c.Produce(9, 0, 0, 1, baseOffset: 1, values: ["zombie"]);
        var add = c.Send(TxnWire.AddPartitions(TxnId, Pid, 0, Topic, 1), 3);
        c.Answer(add, true, w => TxnWire.AddPartitionsAnswer(Topic, (1, 0)).Write(w, 3));
        c.End(commit: true, epoch: 0);

        // The new producer's transaction.
        var add2 = c.Send(TxnWire.AddPartitions(TxnId, NewPid, 0, Topic, 0), 3);
        c.Answer(add2, true, w => TxnWire.AddPartitionsAnswer(Topic, (0, 0)).Write(w, 3));
        var produce = c.Send(TxnWire.Produce(TxnId, (Topic, 0, TxnWire.Batch(NewPid, 0, 0, true, "new"))), 9);
        c.Answer(produce, true, w => TxnWire.ProduceAnswer((Topic, 0, 0, 3)).Write(w, 9));
        var end = c.Send(new EndTxnRequest { TransactionalId = TxnId, ProducerId = NewPid, ProducerEpoch = 0, Committed = true }, 1);
        c.EndAnswer(end);

        c.Oracle.Verify();
        var report = c.Oracle.Report();
        Assert.Equal((1, 1, 1), (report.Committed, report.Aborted, report.FencedBatches));
        Assert.Equal(TransactionOutcome.Aborted, c.Oracle.OutcomeOf(Topic, 0, 0));
        Assert.Equal(TransactionOutcome.Fenced, c.Oracle.OutcomeOf(Topic, 0, 1));
        Assert.Equal(TransactionOutcome.Committed, c.Oracle.OutcomeOf(Topic, 0, 3));
        Assert.True(c.Oracle.TryGetProducerId(TxnId, out var pid, out var epoch));
        Assert.Equal((NewPid, (short)0), (pid, epoch));
    }

    [Fact]
    public void AnEpochBumpFencesTheOlderEpochOfTheSameProducerId()
    {
        var c = Start();
        c.Init();
        c.Add(0, (0, 0));
        c.Produce(9, 0, 0, 0, baseOffset: 0);
        c.Oracle.OnProducerIdChanged(TxnId, Pid, 1); // KafkaProxy.FenceAsync: InitProducerId v3 with (Pid, 0)
        c.Produce(9, 0, 0, 1, baseOffset: 1);
        c.End(commit: true, epoch: 0);

        c.Oracle.Verify();
        Assert.Equal(0, c.Oracle.Report().Committed);
        Assert.Equal(TransactionOutcome.Aborted, c.Oracle.OutcomeOf(Topic, 0, 0));
        Assert.Equal(TransactionOutcome.Fenced, c.Oracle.OutcomeOf(Topic, 0, 1));
    }

    [Fact]
    public void TransactionsVersion2NeedsNoAddsAndTakesTheEpochFromEndTxn()
    {
        var c = Start();
        c.Init();
        c.Produce(12, 0, partition: 0, sequence: 0, baseOffset: 0);
        c.Produce(12, 0, partition: 1, sequence: 0, baseOffset: 0);
        c.CommitOffsets(5, 0, "g", "in", (0, 11));
        c.End(commit: true, epoch: 0, version: 5, nextEpoch: 1);
        c.Produce(12, 1, partition: 0, sequence: 0, baseOffset: 2);
        c.End(commit: false, epoch: 1, version: 5, nextEpoch: 2);

        c.Oracle.Verify();
        var report = c.Oracle.Report();
        Assert.Equal((1, 1), (report.Committed, report.Aborted));
        Assert.All(report.Transactions, t => Assert.True(t.UsesTransactionsVersion2));
        Assert.Equal([1, 2], report.Transactions.Select(t => (int)t.NextEpoch));
        Assert.Equal(11, c.Oracle.CommittedOffsets("g")[new TopicPartition("in", 0)]);
        Assert.Equal(TransactionOutcome.Aborted, c.Oracle.OutcomeOf(Topic, 0, 2));
    }

    [Fact]
    public void InVersion2ABatchWithTheEpochBeforeEndTxnIsLate()
    {
        var c = Start();
        c.Init();
        c.Produce(12, 0, 0, 0, baseOffset: 0);
        c.End(commit: false, epoch: 0, version: 5, nextEpoch: 1);
        c.Produce(12, 0, 0, 1, baseOffset: 2, values: ["late"]);

        Assert.Contains("epoch 0 is older than the epoch 1 EndTxn answered", Assert.Single(c.Oracle.Violations), StringComparison.Ordinal);
    }

    [Fact]
    public void InTheClassicProtocolProduceV12IsNotAssumedToAdd()
    {
        // A producer that sends Produce v11 must add partitions even if it speaks EndTxn v5.
        var c = Start();
        c.Init();
        c.Produce(11, 0, 0, 0, baseOffset: 0);
        Assert.Single(c.Oracle.Violations);
    }

    [Fact]
    public void PlainProducersAreIgnored()
    {
        var oracle = new TransactionOracle();
        var request = TxnWire.Request(TxnWire.Produce(null, (Topic, 0, TxnWire.Batch(5, 0, 0, false, "x"))), 9, 1);
        oracle.OnRequest(1, request);
        oracle.OnResponse(1, TxnWire.Response(1, true, w => TxnWire.ProduceAnswer((Topic, 0, 0, 0)).Write(w, 9)));

        oracle.Verify();
        Assert.Empty(oracle.Report().Transactions);
        Assert.Equal(TransactionOutcome.NotTransactional, oracle.OutcomeOf(Topic, 0, 0));
    }

    [Fact]
    public void AnAnswerOnAClosedConnectionIsForgotten()
    {
        var c = Start();
        c.Init();
        c.Add(0, (0, 0));
        var id = c.ProduceRequestOnly(9, TxnId, 0, 0, 0);
        c.Oracle.OnConnectionClosed(1);
        c.Answer(id, true, w => TxnWire.ProduceAnswer((Topic, 0, 0, 0)).Write(w, 9));

        Assert.Equal(0, Assert.Single(c.Oracle.Report().Transactions).StoredBatches);
    }

    [Fact]
    public void ATruncatedRequestIsAFormatError()
    {
        var oracle = new TransactionOracle();
        var request = TxnWire.Request(new EndTxnRequest { TransactionalId = TxnId, ProducerId = Pid, Committed = true }, 3, 1);
        Assert.Throws<FormatException>(() => oracle.OnRequest(1, request.AsSpan(0, request.Length - 5)));
    }
}
