using Samsa.Testing.Proxy;

namespace Samsa.IntegrationTests.Oracle;

/// <summary>The oracle's broker rules on synthetic batches: no broker, no proxy.</summary>
public sealed class OracleRuleTests
{
    private const string Topic = "t";
    private const long Pid = 1000;

    private static ProducedBatch Batch(int baseSequence, short epoch = 0, long pid = Pid, int partition = 0, params string[] values) =>
        ProducedBatch.Create(Topic, partition, pid, epoch, baseSequence, values.Length > 0 ? values : [$"v{baseSequence}"]);

    private static string[] Values(OracleReport report, int partition = 0) =>
        [.. report.StoredRecords[new TopicPartition(Topic, partition)].Select(r => r.ValueText)];

    [Fact]
    public void BatchesInSequenceAreStoredInOrder()
    {
        var oracle = new IdempotenceOracle();
        Assert.Equal(BatchVerdict.Appended, oracle.Apply(Batch(0, values: ["a", "b"])).Verdict);
        Assert.Equal(BatchVerdict.Appended, oracle.Apply(Batch(2, values: ["c"])).Verdict);
        Assert.Equal(BatchVerdict.Appended, oracle.Apply(Batch(3, values: ["d", "e", "f"])).Verdict);

        var report = oracle.Report();
        Assert.Equal(["a", "b", "c", "d", "e", "f"], Values(report));
        Assert.Equal([0, 1, 2, 3, 4, 5], report.StoredRecords[new TopicPartition(Topic, 0)].Select(r => r.Sequence));
        Assert.Equal(3, report.Stored);
        Assert.True(report.IsClean);
        oracle.Verify(Values(report).Select(v => AcknowledgedRecord.Utf8(Topic, 0, v)));
    }

    [Fact]
    public void AResendOfOneOfTheLastFiveBatchesIsADuplicate()
    {
        var oracle = new IdempotenceOracle();
        for (var i = 0; i < 6; i++)
        {
            oracle.Apply(Batch(i * 2, values: [$"v{i}a", $"v{i}b"]));
        }

        // Batch 1 (seq 2..3) is among the last five (2..11); batch 0 (seq 0..1) has left the window.
        var duplicate = oracle.Apply(Batch(2, values: ["v1a", "v1b"]));
        var tooOld = oracle.Apply(Batch(0, values: ["v0a", "v0b"]));

        Assert.Equal(BatchVerdict.Duplicate, duplicate.Verdict);
        Assert.False(duplicate.IsViolation);
        Assert.Equal(BatchVerdict.OutOfOrder, tooOld.Verdict);
        var report = oracle.Report();
        Assert.Equal(1, report.Duplicates);
        Assert.Equal(12, Values(report).Length); // neither resend is stored again
    }

    [Fact]
    public void ASameFirstSequenceWithADifferentLastSequenceIsNotADuplicate()
    {
        var oracle = new IdempotenceOracle();
        oracle.Apply(Batch(0, values: ["a", "b"]));
        Assert.Equal(BatchVerdict.OutOfOrder, oracle.Apply(Batch(0, values: ["a", "b", "c"])).Verdict);
    }

    [Fact]
    public void AGapOrAReorderingIsOutOfOrder()
    {
        var oracle = new IdempotenceOracle();
        oracle.Apply(Batch(0));
        var gap = oracle.Apply(Batch(2));
        oracle.Apply(Batch(1));
        var behind = oracle.Apply(Batch(1, values: ["late", "x"])); // base 1 again, but 1..2 was never stored

        Assert.Equal(BatchVerdict.OutOfOrder, gap.Verdict);
        Assert.Contains("expected sequence 1", gap.Reason, StringComparison.Ordinal);
        Assert.True(gap.IsViolation);
        Assert.Equal(BatchVerdict.OutOfOrder, behind.Verdict);
        Assert.Equal(["v0", "v1"], Values(oracle.Report()));
        Assert.False(oracle.Report().IsClean);
    }

    [Fact]
    public void SequencesWrapFromIntMaxValueToZero()
    {
        var oracle = new IdempotenceOracle();
        // A (record-less) batch covering sequences 0..int.MaxValue-1 brings the state to the wrap.
        oracle.Apply(new ProducedBatch(Topic, 0, Pid, 0, 0, int.MaxValue, []));
        var wrapping = oracle.Apply(Batch(int.MaxValue, values: ["y", "z"]));
        var after = oracle.Apply(Batch(1, values: ["w"]));

        Assert.Equal(0, wrapping.Batch.LastSequence);
        Assert.Equal(BatchVerdict.Appended, wrapping.Verdict);
        Assert.Equal(BatchVerdict.Appended, after.Verdict);
        Assert.Equal([int.MaxValue, 0, 1], oracle.Report().StoredRecords[new TopicPartition(Topic, 0)].Select(r => r.Sequence));
    }

    [Fact]
    public void TheLastSequenceComesFromLastOffsetDeltaAsTheBrokerReadsIt()
    {
        var oracle = new IdempotenceOracle();
        oracle.Apply(Batch(0, values: ["a", "b"]) with { LastOffsetDelta = 4 });
        Assert.Equal(BatchVerdict.OutOfOrder, oracle.Apply(Batch(2)).Verdict);
        Assert.Equal(BatchVerdict.Appended, oracle.Apply(Batch(5)).Verdict);
    }

    [Fact]
    public void ANewEpochStartingAtZeroIsStored()
    {
        var oracle = new IdempotenceOracle();
        oracle.Apply(Batch(0));
        oracle.Apply(Batch(1));
        var bumped = oracle.Apply(Batch(0, epoch: 1, values: ["e1"]));
        var next = oracle.Apply(Batch(1, epoch: 1, values: ["e1b"]));

        Assert.Equal(BatchVerdict.Appended, bumped.Verdict);
        Assert.Equal(BatchVerdict.Appended, next.Verdict);
        Assert.Equal(["v0", "v1", "e1", "e1b"], Values(oracle.Report()));
    }

    [Fact]
    public void ANewEpochNotStartingAtZeroIsOutOfOrder()
    {
        var oracle = new IdempotenceOracle();
        oracle.Apply(Batch(0));
        var judged = oracle.Apply(Batch(1, epoch: 1));
        Assert.Equal(BatchVerdict.OutOfOrder, judged.Verdict);
        Assert.Contains("new epoch", judged.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AnOldEpochIsFenced()
    {
        var oracle = new IdempotenceOracle();
        oracle.Apply(Batch(0, epoch: 3));
        var judged = oracle.Apply(Batch(1, epoch: 2));
        Assert.Equal(BatchVerdict.Fenced, judged.Verdict);
        Assert.Equal(1, oracle.Report().Fenced);
        Assert.True(judged.IsViolation);
    }

    [Fact]
    public void AnUnknownProducerMustStartAtZero()
    {
        var oracle = new IdempotenceOracle();
        Assert.Equal(BatchVerdict.UnknownProducer, oracle.Apply(Batch(5)).Verdict);
        Assert.Equal(BatchVerdict.Appended, oracle.Apply(Batch(0, pid: 7)).Verdict);
    }

    [Fact]
    public void StateIsKeptPerPartitionAndProducerId()
    {
        var oracle = new IdempotenceOracle();
        oracle.Apply(Batch(0, partition: 0));
        Assert.Equal(BatchVerdict.Appended, oracle.Apply(Batch(0, partition: 1)).Verdict);
        Assert.Equal(BatchVerdict.Appended, oracle.Apply(Batch(0, pid: Pid + 1)).Verdict);
    }

    [Fact]
    public void BatchesTheBrokerRefusedChangeNothing()
    {
        var oracle = new IdempotenceOracle();
        oracle.Apply(Batch(0));
        var refused = oracle.Apply(Batch(1), errorCode: 6); // NOT_LEADER_OR_FOLLOWER
        var retried = oracle.Apply(Batch(1));
        Assert.Equal(BatchVerdict.BrokerError, refused.Verdict);
        Assert.Equal(BatchVerdict.Appended, retried.Verdict);
        Assert.Equal(["v0", "v1"], Values(oracle.Report()));
    }

    [Fact]
    public void BatchesWithoutAProducerIdAreAlwaysStored()
    {
        var oracle = new IdempotenceOracle();
        oracle.Apply(Batch(-1, pid: -1, values: ["a"]));
        oracle.Apply(Batch(-1, pid: -1, values: ["a"]));
        Assert.Equal(["a", "a"], Values(oracle.Report()));
    }

    [Fact]
    public void VerifyFailsForAResendUnderANewProducerId()
    {
        // A producer that lost its id and resent its batch with a fresh one: a real broker stores it twice.
        var oracle = new IdempotenceOracle();
        oracle.Apply(Batch(0, values: ["a", "b"]));
        oracle.Apply(Batch(0, pid: Pid + 1, values: ["a", "b"]));

        var e = Assert.Throws<IdempotenceViolationException>(() =>
            oracle.Verify([AcknowledgedRecord.Utf8(Topic, 0, "a"), AcknowledgedRecord.Utf8(Topic, 0, "b")]));
        Assert.Contains("'a' would be stored 2 times", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyFailsForAGapAndNamesTheBatch()
    {
        var oracle = new IdempotenceOracle();
        oracle.Apply(Batch(0, values: ["a"]));
        oracle.Apply(Batch(2, values: ["c"]));

        var problems = oracle.Check([AcknowledgedRecord.Utf8(Topic, 0, "a"), AcknowledgedRecord.Utf8(Topic, 0, "c")]);
        Assert.Contains(problems, p => p.Contains("OutOfOrder", StringComparison.Ordinal) && p.Contains("seq 2..2", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("'c' would not be in a real broker's log", StringComparison.Ordinal));
    }

    [Fact]
    public void VerifyFailsWhenAcknowledgedRecordsAreStoredOutOfSendOrder()
    {
        var oracle = new IdempotenceOracle();
        oracle.Apply(Batch(0, values: ["b"]));
        oracle.Apply(Batch(1, values: ["a"]));

        var problems = oracle.Check([AcknowledgedRecord.Utf8(Topic, 0, "a"), AcknowledgedRecord.Utf8(Topic, 0, "b")]);
        Assert.Single(problems);
        Assert.Contains("send order reversed", problems[0], StringComparison.Ordinal);
    }

    [Fact]
    public void VerifyFailsForAnAcknowledgedRecordNoBatchCarried()
    {
        var oracle = new IdempotenceOracle();
        var problems = oracle.Check([AcknowledgedRecord.Utf8(Topic, 3, "ghost")]);
        Assert.Contains("no batch seen by the oracle carried it", Assert.Single(problems), StringComparison.Ordinal);
    }
}
