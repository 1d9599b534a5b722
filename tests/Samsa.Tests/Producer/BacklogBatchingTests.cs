using Samsa.Producer.Internal;

namespace Samsa.Tests.Producer;

/// <summary>
/// Under backlog (every in-flight slot of the partition taken) the open batch grows past batch.size;
/// otherwise batch.size closes it, as in Java.
/// </summary>
public sealed class BacklogBatchingTests() : AccumulatorTestBed(new ProducerOptions { BootstrapServers = ["127.0.0.1:1"], BatchSize = 200, Linger = TimeSpan.FromHours(1), MaxInFlightRequestsPerConnection = 2 })
{
    private static readonly ProducerIdAndEpoch Identity = new(5, 0);

    [Fact]
    public void WithoutBacklogBatchSizeClosesTheBatch()
    {
        AppendRecords(2);
        lock (Partition.Lock)
        {
            Assert.Single(Partition.Batches);
        }

        // The first batch is taken (one slot of two in flight, nothing queued): the next closes at batch.size.
        Assert.NotNull(DrainFull());
        AppendRecords(3);
        lock (Partition.Lock)
        {
            Assert.Equal(3, Partition.Batches.Count);
            Assert.All(Partition.Batches, b => Assert.True(b.Builder.SizeInBytes <= 200));
        }
    }

    [Fact]
    public void BehindAQueuedFullBatchTheOpenBatchGrows()
    {
        // Nothing in flight, but the first batch is full and waiting: the open one behind it would wait too.
        AppendRecords(40);
        lock (Partition.Lock)
        {
            Assert.Equal(2, Partition.Batches.Count);
            Assert.True(Partition.Batches[^1].Builder.SizeInBytes > 4 * 200);
        }
    }

    [Fact]
    public void WithEveryInFlightSlotTakenTheOpenBatchGrowsAndGoesAsSoonAsASlotFrees()
    {
        // Two batches (two 40-byte records fill one) go out: the partition's two slots are taken.
        AppendRecords(4);
        Partition.BeginFlush(new FlushWaiter());
        var first = Drain()!;
        var second = Drain()!;
        Assert.Null(Drain());

        AppendRecords(40);
        lock (Partition.Lock)
        {
            var open = Partition.Batches[^1];
            Assert.Equal(3, Partition.Batches.Count);
            Assert.True(open.Builder.SizeInBytes > 4 * 200, $"the open batch stayed at {open.Builder.SizeInBytes} bytes");
        }

        Engine.OnStored(first, 0, -1);
        var grown = Drain();
        Assert.NotNull(grown); // ready at once, although linger.ms has not passed
        Assert.Equal(40, grown.Builder.RecordCount);
        Engine.OnStored(second, 0, -1);
    }

    private void AppendRecords(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Partition.Append(1, default, true, new byte[40], false, null, default, 10, out _);
        }
    }

    // Takes the first batch even though linger.ms has not passed, as a full batch would be.
    private ProducerBatch? DrainFull()
    {
        Partition.BeginFlush(new FlushWaiter());
        return Drain();
    }

    private ProducerBatch? Drain() => Drain(Identity);
}
