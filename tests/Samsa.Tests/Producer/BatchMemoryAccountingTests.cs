using Samsa.Compression;
using Samsa.Producer.Internal;
using Samsa.Records;

namespace Samsa.Tests.Producer;

/// <summary>
/// buffer.memory counts what a batch really holds: its records' reservations, raised to its arrays once it stops
/// taking records (a buffer doubled under backlog) and once it is encoded (the compression output), and all of
/// it given back when the batch is reported.
/// </summary>
public sealed class BatchMemoryAccountingTests() : AccumulatorTestBed(new ProducerOptions { BootstrapServers = ["127.0.0.1:1"], BatchSize = 4096, Linger = TimeSpan.FromHours(1) })
{
    private static readonly ProducerIdAndEpoch Identity = new(5, 0);
    private static readonly byte[] Value = new byte[1000];
    private static readonly int RecordBytes = RecordBatchBuilder.EstimateRecordSize(default, true, Value, false, null);

    [Fact]
    public async Task AGrownBatchCountsItsWholeBufferOnceClosedAndGivesItAllBackWhenReported()
    {
        // Four records fill the first batch; behind it, waiting, the open batch grows past batch.size by doubling its buffer.
        Append(40);
        var flush = new FlushWaiter();
        Partition.BeginFlush(flush);
        flush.Arm();

        var batches = Batches();
        Assert.Equal(2, batches.Length);
        var grown = batches[1];
        Assert.True(grown.Builder.HeldBytes > grown.Builder.RecordCount * RecordBytes, "the doubled buffer has no spare room to count");
        Assert.All(batches, b => Assert.True(b.ReservedBytes >= b.Builder.HeldBytes, $"{b} reserves {b.ReservedBytes} of the {b.Builder.HeldBytes} bytes it holds"));
        Assert.Equal(batches.Sum(b => (long)b.ReservedBytes), Engine.Memory.Used);

        foreach (var batch in batches)
        {
            var drained = Drain(Identity)!;
            Assert.Same(batch, drained);
            drained.Seal(CompressionType.None, Compressor.DefaultLevel, Engine.Memory);
            Engine.OnStored(drained, 0, -1);
        }

        await flush.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, Engine.Memory.Used);
    }

    [Fact]
    public async Task ACompressedBatchKeepsItsOutputInTheRecordBuffer()
    {
        Append(2);
        var flush = new FlushWaiter();
        Partition.BeginFlush(flush);
        flush.Arm();
        var batch = Assert.Single(Batches());
        Assert.Same(batch, Drain(Identity));
        var held = batch.Builder.HeldBytes;
        var reserved = batch.ReservedBytes;

        batch.Seal(CompressionType.Lz4, Compressor.DefaultLevel, Engine.Memory);

        Assert.True(batch.Sealed.Length < batch.Builder.SizeInBytes, "the records did not compress");
        Assert.Equal(held, batch.Builder.HeldBytes);
        Assert.Equal(reserved, batch.ReservedBytes);
        Assert.Equal(reserved, Engine.Memory.Used);

        Engine.OnStored(batch, 0, -1);
        await flush.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, Engine.Memory.Used);
    }

    [Fact]
    public void IncompressibleRecordsThatOutgrowTheirBufferCountTheOutputsOwnArray()
    {
        var memory = new BufferMemory(1 << 20);
        using var batch = new ProducerBatch(new PartitionAccumulator("t", 0, null!), 4096, createdTicks: 0);
        var value = new byte[4024];
        new Random(1).NextBytes(value);
        Assert.True(batch.Builder.TryAppend(1, default, true, value, false, null, int.MaxValue));
        Assert.InRange(batch.Builder.SizeInBytes, 4080, 4096); // lz4's frame around stored blocks will not fit in 4 KiB
        Assert.Equal(4096, batch.Builder.HeldBytes);

        batch.Seal(CompressionType.Lz4, Compressor.DefaultLevel, memory);

        Assert.True(batch.Builder.HeldBytes > 4096, "the output did not need an array of its own");
        Assert.Equal(batch.Builder.HeldBytes, batch.ReservedBytes);
        Assert.Equal(batch.ReservedBytes, memory.Used);
    }

    [Fact]
    public void CountedArraysPastTheLimitHoldBackLaterRecordsInsteadOfHidingThem()
    {
        Engine.Memory.ForceReserve((int)Engine.Memory.Limit);

        Assert.False(Engine.Memory.TryReserve(RecordBytes));
        Engine.Memory.Release((int)Engine.Memory.Limit);
        Assert.True(Engine.Memory.TryReserve(RecordBytes));
    }

    // Each record reserves its size first, as a producer does before it appends.
    private void Append(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.True(Engine.Memory.TryReserve(RecordBytes));
            Partition.Append(1, default, true, Value, false, null, default, RecordBytes, out _);
        }
    }

    private ProducerBatch[] Batches()
    {
        lock (Partition.Lock)
        {
            return [.. Partition.Batches];
        }
    }
}
