using Samsa.Producer.Internal;
using Samsa.Records;

namespace Samsa.Tests.Producer;

/// <summary>An idempotent producer's batches carry its id and epoch and consecutive sequences per partition.</summary>
public sealed class SequenceNumberTests
{
    [Fact]
    public void BatchesOfOnePartitionTakeConsecutiveSequences()
    {
        var partition = new PartitionAccumulator("t", 0, null!);
        var identity = new ProducerIdAndEpoch(4242, 7);
        var first = SealedBatch(partition, records: 3, identity);
        var second = SealedBatch(partition, records: 2, identity);

        var a = RecordBatchReader.ReadAll(first.Sealed.Span).Single();
        var b = RecordBatchReader.ReadAll(second.Sealed.Span).Single();
        Assert.Equal((4242L, (short)7, 0), (a.ProducerId, a.ProducerEpoch, a.BaseSequence));
        Assert.Equal((4242L, (short)7, 3), (b.ProducerId, b.ProducerEpoch, b.BaseSequence));
    }

    [Fact]
    public void ResealingKeepsTheSequenceOfTheFirstSend()
    {
        var partition = new PartitionAccumulator("t", 0, null!);
        var batch = SealedBatch(partition, records: 2, new ProducerIdAndEpoch(1, 0));
        batch.Seal(CompressionType.None, 0, new ProducerIdAndEpoch(1, 0));
        Assert.Equal(2, partition.TakeSequences(1, new ProducerIdAndEpoch(1, 0)));
    }

    [Fact]
    public void ARetryAfterAnEpochBumpIsRestampedFromSequenceZero()
    {
        var partition = new PartitionAccumulator("t", 0, null!);
        var before = new ProducerIdAndEpoch(9, 1);
        SealedBatch(partition, records: 4, before); // sequences 0-3 under epoch 1
        var retried = SealedBatch(partition, records: 2, before); // 4-5, then rejected

        var after = new ProducerIdAndEpoch(9, 2);
        retried.Seal(CompressionType.None, 0, after);

        var decoded = RecordBatchReader.ReadAll(retried.Sealed.Span).Single(); // the CRC is checked here too
        Assert.Equal((9L, (short)2, 0), (decoded.ProducerId, decoded.ProducerEpoch, decoded.BaseSequence));
        Assert.Equal(after, retried.SealedIdentity);
        Assert.Equal(2, partition.TakeSequences(1, after));
    }

    [Fact]
    public void SequencesWrapAtIntMaxValue()
    {
        var partition = new PartitionAccumulator("t", 0, null!);
        Assert.Equal(0, partition.TakeSequences(int.MaxValue - 1, ProducerIdAndEpoch.None));
        Assert.Equal(int.MaxValue - 1, partition.TakeSequences(3, ProducerIdAndEpoch.None));
        Assert.Equal(1, partition.TakeSequences(1, ProducerIdAndEpoch.None));
    }

    [Fact]
    public void WithoutIdempotenceTheFieldsAreUnset()
    {
        var batch = SealedBatch(new PartitionAccumulator("t", 0, null!), records: 1, ProducerIdAndEpoch.None);
        var decoded = RecordBatchReader.ReadAll(batch.Sealed.Span).Single();
        Assert.Equal((-1L, (short)-1, -1), (decoded.ProducerId, decoded.ProducerEpoch, decoded.BaseSequence));
    }

    private static ProducerBatch SealedBatch(PartitionAccumulator partition, int records, ProducerIdAndEpoch identity)
    {
        var batch = new ProducerBatch(partition, 1024, createdTicks: 0);
        for (var i = 0; i < records; i++)
        {
            Assert.True(batch.Builder.TryAppend(1_000 + i, default, keyIsNull: true, [(byte)i], valueIsNull: false, headers: null, batchSizeLimit: 1024));
        }

        batch.Seal(CompressionType.None, 0, identity);
        return batch;
    }
}
