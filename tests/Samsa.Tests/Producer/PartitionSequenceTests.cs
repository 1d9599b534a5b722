using Samsa.Network;
using Samsa.Producer.Internal;
using Samsa.Records;

namespace Samsa.Tests.Producer;

/// <summary>
/// The idempotent producer's per-partition rules (Java's TransactionManager and RecordAccumulator),
/// driven through a partition's accumulator by hand: no broker, no sender loop. Each test plays the
/// broker's answers and checks what a real broker would be sent next.
/// </summary>
public sealed class PartitionSequenceTests() : AccumulatorTestBed(new ProducerOptions { BootstrapServers = ["127.0.0.1:1"], BatchSize = 100, Linger = TimeSpan.Zero })
{
    private static readonly ProducerIdAndEpoch Epoch0 = new(77, 0);
    private static readonly ProducerIdAndEpoch Epoch1 = new(77, 1);

    [Fact]
    public void FiveBatchesOfOnePartitionGoOutTogetherWithConsecutiveSequences()
    {
        var batches = AppendBatches(6, recordsEach: 2);
        var drained = DrainAll(Epoch0);

        Assert.Equal(batches[..5], drained);
        Assert.Equal([0, 2, 4, 6, 8], drained.Select(b => b.BaseSequence));
        Assert.Null(Drain(Epoch0)); // the sixth waits: five in flight is the broker's de-duplication window
        Store(drained[0]);
        Assert.Same(batches[5], Drain(Epoch0));
        Assert.Equal(10, batches[5].BaseSequence);
    }

    [Fact]
    public void ARetryKeepsItsSequenceAndOnlyTheFirstUnacknowledgedBatchIsRetried()
    {
        AppendBatches(3, recordsEach: 1);
        var (a, b, c) = Three(DrainAll(Epoch0));

        Fail(a, ErrorCode.NotLeaderOrFollower);
        Fail(b, ErrorCode.OutOfOrderSequenceNumber); // refused because a is missing: not a gap
        Assert.Same(a, Drain(Epoch0));
        Assert.Null(Drain(Epoch0)); // b waits for a, although it is ready too
        Fail(c, ErrorCode.OutOfOrderSequenceNumber);
        Store(a);
        Assert.Same(b, Drain(Epoch0));
        Assert.Null(Drain(Epoch0));
        Store(b);
        Assert.Same(c, Drain(Epoch0));
        Assert.Equal([0, 1, 2], new[] { a, b, c }.Select(x => x.BaseSequence));
        Assert.Equal(Epoch0, Partition.Sequences.Identity);
    }

    [Fact]
    public void AGapRightAfterTheLastAcknowledgedBatchMovesThePartitionToTheNextEpochFromZero()
    {
        AppendBatches(3, recordsEach: 2);
        var (a, b, c) = Three(DrainAll(Epoch0));
        Store(a);

        Assert.Equal(RetryVerdict.RetryAfterEpochBump, Fail(b, ErrorCode.OutOfOrderSequenceNumber));
        Assert.Equal(RetryVerdict.Retry, Fail(c, ErrorCode.OutOfOrderSequenceNumber));
        Assert.Null(Drain(Epoch0)); // nothing more under the broken epoch

        var first = Drain(Epoch1);
        Assert.Same(b, first);
        Assert.Equal((Epoch1, 0), (b.Identity, b.BaseSequence));
        Assert.Equal((Epoch1, 2), (c.Identity, c.BaseSequence));
    }

    [Fact]
    public void ABumpCausedByAnotherPartitionNeverRestampsABatchWaitingToRetry()
    {
        AppendBatches(2, recordsEach: 1);
        var (a, b) = Two(DrainAll(Epoch0));
        Fail(a, ErrorCode.RequestTimedOut); // the broker may have it: it must go again as it was
        Fail(b, ErrorCode.NotLeaderOrFollower);

        // Another partition made the producer move to epoch 1 meanwhile.
        var retried = Drain(Epoch1);
        Assert.Same(a, retried);
        Assert.Equal((Epoch0, 0), (a.Identity, a.BaseSequence));
        Store(a);
        Assert.Same(b, Drain(Epoch1));
        Assert.Equal((Epoch0, 1), (b.Identity, b.BaseSequence));
        Store(b);

        // Only with nothing left under epoch 0 does the partition move, starting at 0.
        var next = AppendBatches(1, recordsEach: 1)[0];
        Assert.Same(next, Drain(Epoch1));
        Assert.Equal((Epoch1, 0), (next.Identity, next.BaseSequence));
    }

    [Fact]
    public void ABatchThatFailedForGoodGivesItsSequencesToTheBatchesBehindIt()
    {
        AppendBatches(3, recordsEach: 2);
        var (a, b, c) = Three(DrainAll(Epoch0));

        Assert.Equal(RetryVerdict.Fail, Fail(a, ErrorCode.InvalidRecord));
        Assert.Equal([0, 2], new[] { b, c }.Select(x => x.BaseSequence));
        Assert.Equal(RetryVerdict.Retry, Fail(b, ErrorCode.OutOfOrderSequenceNumber)); // sent with 2, renumbered since
        Assert.Equal(RetryVerdict.Retry, Fail(c, ErrorCode.OutOfOrderSequenceNumber));
        Assert.Same(b, Drain(Epoch0));
        Store(b);
        Assert.Same(c, Drain(Epoch0));
        Store(c);
        var next = AppendBatches(1, recordsEach: 1)[0];
        Assert.Same(next, Drain(Epoch0));
        Assert.Equal((Epoch0, 4), (next.Identity, next.BaseSequence)); // no new producer id was needed
    }

    [Fact]
    public void DuplicateSequenceNumberMeansStored()
    {
        AppendBatches(1, recordsEach: 1);
        var batch = Drain(Epoch0)!;
        Engine.OnBrokerError(batch, ErrorCode.DuplicateSequenceNumber, null);
        Assert.Equal(0, Partition.Sequences.LastAckedSequence);
        lock (Partition.Lock)
        {
            Assert.Empty(Partition.Batches);
        }
    }

    [Fact]
    public void AnExpiredBatchThatMayHaveBeenWrittenHoldsNewBatchesUntilItsFateIsKnown()
    {
        AppendBatches(2, recordsEach: 1);
        var (a, b) = Two(DrainAll(Epoch0));
        Partition.OnAttemptFailed(a, new KafkaNetworkException("gone"), maybeWritten: true, mayRetry: false, 0);
        Assert.Equal(0, Partition.Sequences.UnresolvedLastSequence);
        var waiting = AppendBatches(1, recordsEach: 1)[0];
        Assert.Null(Drain(Epoch0)); // b is in flight and the new batch must wait

        Store(b); // a later batch was stored, so a was stored too
        Assert.Equal(-1, Partition.Sequences.UnresolvedLastSequence);
        Assert.Same(waiting, Drain(Epoch0));
        Assert.Equal(2, waiting.BaseSequence);
    }

    [Fact]
    public void ADoubtNobodyCanSettleMovesThePartitionToANewEpoch()
    {
        AppendBatches(1, recordsEach: 1);
        var a = Drain(Epoch0)!;
        Partition.OnAttemptFailed(a, new KafkaNetworkException("gone"), maybeWritten: true, mayRetry: false, 0);
        var next = AppendBatches(1, recordsEach: 1)[0];

        Assert.Null(Drain(Epoch0)); // asks for the bump instead of guessing
        Assert.True(Partition.Sequences.BumpRequested);
        Assert.Same(next, Drain(Epoch1));
        Assert.Equal((Epoch1, 0), (next.Identity, next.BaseSequence));
    }

    [Fact]
    public void ATooLargeBatchIsSplitInOrderKeepingItsSequences()
    {
        AppendBatches(2, recordsEach: 4);
        var (big, after) = Two(DrainAll(Epoch0));
        Engine.OnBrokerError(big, ErrorCode.MessageTooLarge, null);
        Fail(after, ErrorCode.OutOfOrderSequenceNumber);

        var head = Drain(Epoch0)!;
        Assert.Same(big, head);
        Assert.Equal((0, 2), (head.BaseSequence, head.Builder.RecordCount));
        Store(head);
        var tail = Drain(Epoch0)!;
        Assert.Equal((2, 2), (tail.BaseSequence, tail.Builder.RecordCount));

        // Sealed as its sender does, before the answer: once stored, the reporting loop may park the batch and empty it.
        tail.Seal(CompressionType.None, 0, Engine.Memory);
        var decoded = RecordBatchReader.ReadAll(tail.Sealed.Span).Single();
        Store(tail);
        Assert.Same(after, Drain(Epoch0));
        Assert.Equal(4, after.BaseSequence);

        Assert.Equal([[2], [3]], decoded.Records.Select(r => r.Value!));
        Assert.Equal([0, 1], decoded.Records.Select(r => r.OffsetDelta));
    }

    [Fact]
    public void APartitionInFlightOnOneSenderIsNotDrainedByAnother()
    {
        AppendBatches(2, recordsEach: 1);
        Assert.NotNull(Drain(Epoch0));
        var other = new BrokerSender(Engine, new BrokerAddress(2, "127.0.0.1", 2));
        var next = long.MaxValue;
        Assert.Null(Partition.TryDrain(other, MonotonicClock.NowMs, Epoch0, int.MaxValue, true, ref next, out _));
    }

    [Fact]
    public void SequencesWrapAtIntMaxValue()
    {
        Assert.Equal(int.MaxValue, PartitionSequences.Add(int.MaxValue - 2, 2));
        Assert.Equal(0, PartitionSequences.Add(int.MaxValue, 1));
        Assert.Equal(1, PartitionSequences.Add(int.MaxValue - 1, 3));
    }

    [Fact]
    public void ARestampedRetryIsPatchedWithoutReencodingItsRecords()
    {
        AppendBatches(1, recordsEach: 3);
        var batch = Drain(Epoch0)!;
        batch.Seal(CompressionType.Lz4, 0, Engine.Memory);
        var firstBytes = batch.Sealed.ToArray();
        batch.Identity = Epoch1;
        batch.BaseSequence = 5;
        batch.Seal(CompressionType.Lz4, 0, Engine.Memory);

        var decoded = RecordBatchReader.ReadAll(batch.Sealed.Span).Single(); // checks the CRC
        Assert.Equal((77L, (short)1, 5), (decoded.ProducerId, decoded.ProducerEpoch, decoded.BaseSequence));
        Assert.Equal(firstBytes[61..], batch.Sealed.ToArray()[61..]);
    }

    private ProducerBatch[] AppendBatches(int count, int recordsEach)
    {
        var appended = new List<ProducerBatch>();
        for (var b = 0; b < count; b++)
        {
            for (var r = 0; r < recordsEach; r++)
            {
                Partition.Append(1_000 + r, default, true, [(byte)r], false, null, default, 10, out _);
            }

            // Closes the open batch, so that the next record opens another.
            Partition.BeginFlush(new FlushWaiter());
            lock (Partition.Lock)
            {
                appended.Add(Partition.Batches[^1]);
            }
        }

        return [.. appended];
    }


    private List<ProducerBatch> DrainAll(ProducerIdAndEpoch identity)
    {
        var drained = new List<ProducerBatch>();
        while (Drain(identity) is { } batch)
        {
            drained.Add(batch);
        }

        return drained;
    }

    private void Store(ProducerBatch batch) => Engine.OnStored(batch, 0, -1);

    private RetryVerdict Fail(ProducerBatch batch, ErrorCode code) =>
        Partition.OnAttemptFailed(batch, new KafkaBrokerException(code, null, "t", 0), maybeWritten: code == ErrorCode.RequestTimedOut, mayRetry: true, retryNotBeforeMs: 0);

    private static (ProducerBatch, ProducerBatch) Two(List<ProducerBatch> batches) => (batches[0], batches[1]);

    private static (ProducerBatch, ProducerBatch, ProducerBatch) Three(List<ProducerBatch> batches) => (batches[0], batches[1], batches[2]);
}
