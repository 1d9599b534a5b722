using Samsa.Producer.Internal;
using Samsa.Records;

namespace Samsa.Tests.Producer;

public sealed class BatchBufferPoolTests
{
    [Fact]
    public void AReturnedArrayIsRentedAgainBySize()
    {
        var pool = new BatchBufferPool(retainedLimit: 1 << 20);
        var array = pool.Rent(20_000);
        Assert.Equal(32 * 1024, array.Length);

        pool.Return(array);
        Assert.Equal(32 * 1024, pool.RetainedBytes);
        Assert.Same(array, pool.Rent(17_000));
        Assert.Equal(0, pool.RetainedBytes);
        Assert.NotSame(array, pool.Rent(17_000));
    }

    [Fact]
    public void WhatItKeepsNeverExceedsTheLimit()
    {
        var pool = new BatchBufferPool(retainedLimit: 100 * 1024);
        var arrays = Enumerable.Range(0, 10).Select(_ => pool.Rent(16 * 1024)).ToList();
        foreach (var array in arrays)
        {
            pool.Return(array);
        }

        Assert.Equal(96 * 1024, pool.RetainedBytes); // six of 16 KiB; the seventh would pass 100 KiB
    }

    [Fact]
    public void ArraysOfOtherSizesAreNotKept()
    {
        var pool = new BatchBufferPool(retainedLimit: 1 << 30);
        pool.Return(new byte[10_000]);
        pool.Return(new byte[1024]);
        pool.Return(new byte[64 << 20]);
        Assert.Equal(0, pool.RetainedBytes);

        Assert.Equal(4096, pool.Rent(0).Length);
        Assert.Equal(20 << 20, pool.Rent(20 << 20).Length); // larger than it keeps: exactly the size asked
    }

    [Fact]
    public void AParkedBuilderOfBatchSizeKeepsItsArrays()
    {
        // Tens of thousands of batch.size batches a second go round with many partitions: their buffers stay with them.
        var pool = new BatchBufferPool(retainedLimit: 1 << 20);
        var builder = new RecordBatchBuilder(16 * 1024, pool);
        Assert.True(builder.TryAppend(1, default, true, new byte[10_000], false, null, 16 * 1024));
        builder.Seal(CompressionType.Lz4, 9, -1, -1, -1, false);

        builder.ReleaseBuffers();
        Assert.Equal(0, pool.RetainedBytes);
        Assert.Equal(0, builder.RecordCount);
        builder.Reset();
        Assert.True(builder.TryAppend(1, default, true, new byte[100], false, null, 16 * 1024));
        builder.Dispose();
        Assert.Equal(16 * 1024, pool.RetainedBytes); // disposed: its array back (the compressed output was kept in it)
    }

    [Fact]
    public void AParkedBuilderGivesBackGrownArraysAndTakesOneAgainWhenReset()
    {
        var pool = new BatchBufferPool(retainedLimit: 1 << 20);
        var builder = new RecordBatchBuilder(16 * 1024, pool);
        Assert.True(builder.TryAppend(1, default, true, new byte[40_000], false, null, 1 << 20)); // grows to 64 KiB
        builder.Seal(CompressionType.Zstd, 3, -1, -1, -1, false);

        builder.ReleaseBuffers();
        Assert.True(pool.RetainedBytes >= 64 * 1024, $"{pool.RetainedBytes} bytes came back"); // its grown buffer, which held the compressed output too

        builder.Reset();
        Assert.True(builder.TryAppend(1, default, true, new byte[100], false, null, 1 << 20));
        Assert.Equal(1, builder.RecordCount);
        builder.Dispose();
        Assert.Throws<ObjectDisposedException>(builder.Reset);
    }
}
