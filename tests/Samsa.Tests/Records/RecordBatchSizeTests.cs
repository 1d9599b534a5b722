using Samsa.Compression;
using Samsa.Records;

namespace Samsa.Tests.Records;

public class RecordBatchSizeTests
{
    [Fact]
    public void SizeInBytesEqualsSealedLengthUncompressed()
    {
        using var builder = new RecordBatchBuilder(16);
        var random = new Random(5);
        for (var i = 0; i < 200; i++)
        {
            var value = new byte[random.Next(0, 3000)];
            var headers = i % 3 == 0 ? new Headers().Add("trace-id", "abc").Add("empty", (byte[]?)null) : null;
            Assert.True(builder.TryAppend(1_000_000 + (i * 7919 % 1000), "key"u8, i % 2 == 0, value, false, headers, int.MaxValue));
            Assert.Equal(i + 1, builder.RecordCount);
        }

        var expected = builder.SizeInBytes;
        Assert.Equal(expected, builder.Seal(CompressionType.None, Compressor.DefaultLevel, -1, -1, -1, false).Length);
    }

    [Fact]
    public void EstimateIsExactForALoneRecord()
    {
        var headers = new Headers().Add("a", "b").Add("ключ", (byte[]?)null);
        var value = new byte[300];
        var estimate = RecordBatchBuilder.EstimateRecordSize("k"u8, false, value, false, headers);
        Assert.Equal(estimate, RecordBatchBuilder.EstimateRecordSize(1, 300, headers));

        using var builder = new RecordBatchBuilder(16);
        Assert.True(builder.TryAppend(123, "k"u8, false, value, false, headers, 1));
        Assert.Equal(estimate, builder.SizeInBytes);
        Assert.Equal(estimate, builder.Seal(CompressionType.None, Compressor.DefaultLevel, -1, -1, -1, false).Length);

        // Null key and value: header 61 + length 1 + body (attributes, ts, offset, key -1, value -1, headers 0) 6.
        Assert.Equal(68, RecordBatchBuilder.EstimateRecordSize(-1, -1, null));
    }

    [Fact]
    public void TryAppendRespectsLimitExceptForTheFirstRecord()
    {
        using var builder = new RecordBatchBuilder(16);
        var big = new byte[1000];

        // An empty batch accepts a record far over the limit: it becomes a batch of its own.
        Assert.True(builder.TryAppend(1, default, true, big, false, null, 100));
        Assert.Equal(1, builder.RecordCount);
        var sizeAfterFirst = builder.SizeInBytes;

        // A second record that would pass the limit is refused, and nothing is written.
        Assert.False(builder.TryAppend(2, default, true, "x"u8, false, null, sizeAfterFirst + 5));
        Assert.Equal(1, builder.RecordCount);
        Assert.Equal(sizeAfterFirst, builder.SizeInBytes);

        // The same record fits exactly at its size: null key, 1-byte value, ts delta 1, offset 1 => 8 bytes + length.
        Assert.True(builder.TryAppend(2, default, true, "x"u8, false, null, sizeAfterFirst + 8));
        Assert.Equal(sizeAfterFirst + 8, builder.SizeInBytes);
        Assert.Equal(2, builder.RecordCount);

        var batch = Assert.Single(RecordBatchReader.ReadAll(builder.Seal(CompressionType.None, Compressor.DefaultLevel, -1, -1, -1, false).Span));
        Assert.Equal(2, batch.Records.Count);
    }

    [Fact]
    public void SealedBuilderRefusesAppendsUntilReset()
    {
        using var builder = new RecordBatchBuilder(16);
        Assert.Throws<InvalidOperationException>(() => builder.Seal(CompressionType.None, Compressor.DefaultLevel, -1, -1, -1, false));
        builder.TryAppend(1, default, true, default, true, null, 100);
        builder.Seal(CompressionType.Zstd, Compressor.DefaultLevel, -1, -1, -1, false);
        Assert.Throws<InvalidOperationException>(() => builder.TryAppend(1, default, true, default, true, null, 100));
        builder.Reset();
        Assert.True(builder.TryAppend(1, default, true, default, true, null, 100));
    }

    [Fact]
    public void SteadyStateAppendAndSealDoNotAllocate()
    {
        using var builder = new RecordBatchBuilder(64 * 1024);
        var headers = new Headers().Add("trace", "0123456789").Add("none", (byte[]?)null);
        var key = new byte[16];
        var value = new byte[200];

        void OneBatch()
        {
            for (var i = 0; i < 100; i++)
            {
                builder.TryAppend(1_000 + i, key, false, value, false, headers, 64 * 1024);
            }

            builder.Seal(CompressionType.None, Compressor.DefaultLevel, 1, 0, 0, false);
            builder.Reset();
        }

        OneBatch(); // warm up: the pooled buffer reaches its size
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var round = 0; round < 10; round++)
        {
            OneBatch();
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
