namespace Samsa.Tests.Partitioning;

/// <summary>
/// KIP-794's adaptive part, as Java's <c>BuiltInPartitioner</c>: when the sticky partition moves on, keyless
/// records favour partitions with shorter queues and avoid leaders that stopped taking batches.
/// </summary>
public sealed class AdaptivePartitioningTests
{
    private const int Switches = 4000;

    [Fact]
    public void LongerQueuesAreChosenLessOften()
    {
        // Weights (longest + 1 - queue): 10, 10, 10, 1. Partition 3 should get about 1 switch in 31.
        var counts = CountChoices(new FakeLoad(adaptive: true, queued: [0, 0, 0, 9]), partitionCount: 4, seed: 17);
        Assert.InRange(counts[3], 1, Switches / 10);
        Assert.All(counts[..3], c => Assert.InRange(c, Switches / 4, Switches / 2));
    }

    [Fact]
    public void WeightsFollowTheQueueLengths()
    {
        // Weights 4, 3, 2, 1 out of 10.
        var counts = CountChoices(new FakeLoad(adaptive: true, queued: [0, 1, 2, 3]), partitionCount: 4, seed: 3);
        Assert.True(counts[0] > counts[1] && counts[1] > counts[2] && counts[2] > counts[3], string.Join(",", counts));
        Assert.InRange(counts[3], Switches / 20, Switches / 6);
    }

    [Fact]
    public void WithAdaptivePartitioningOffTheChoiceIsUniform()
    {
        var counts = CountChoices(new FakeLoad(adaptive: false, queued: [0, 0, 0, 9]), partitionCount: 4, seed: 17);
        Assert.All(counts, c => Assert.InRange(c, Switches / 5, Switches * 3 / 10));
    }

    [Fact]
    public void PartitionWhoseLeaderLeftABatchWaitingPastTheTimeoutIsLeftOut()
    {
        // Partition 1 has had a ready batch untaken for 10 s, partition 2 for 0.5 s; the timeout is 1 s.
        var load = new FakeLoad(adaptive: true, queued: [1, 1, 1, 1], waitingSinceMs: [0, 90_000, 99_500, 0], availabilityTimeoutMs: 1_000, nowMs: 100_000);
        var counts = CountChoices(load, partitionCount: 4, seed: 5);
        Assert.Equal(0, counts[1]);
        Assert.All(new[] { counts[0], counts[2], counts[3] }, c => Assert.True(c > Switches / 5, string.Join(",", counts)));
    }

    [Fact]
    public void AvailabilityTimeoutIsIgnoredWithAdaptivePartitioningOff()
    {
        var load = new FakeLoad(adaptive: false, waitingSinceMs: [0, 90_000, 0, 0], availabilityTimeoutMs: 1_000, nowMs: 100_000);
        Assert.True(CountChoices(load, partitionCount: 4, seed: 5)[1] > Switches / 5);
    }

    [Fact]
    public void WhenEveryLeaderLagsAllPartitionsWithALeaderStayCandidates()
    {
        var load = new FakeLoad(adaptive: true, waitingSinceMs: [1, 1, 1, 1, 1], availabilityTimeoutMs: 1_000, nowMs: 100_000);
        var counts = CountChoices(load, partitionCount: 5, seed: 8, available: [0, 2, 4]);
        Assert.Equal(0, counts[1] + counts[3]);
        Assert.All(new[] { counts[0], counts[2], counts[4] }, c => Assert.True(c > Switches / 5));
    }

    [Fact]
    public void OnlyPartitionsWithALeaderAreWeighted()
    {
        var load = new FakeLoad(adaptive: true, queued: [0, 0, 5, 0]);
        var counts = CountChoices(load, partitionCount: 4, seed: 2, available: [1, 2]);
        Assert.Equal(0, counts[0] + counts[3]);
        Assert.True(counts[1] > counts[2] * 3, string.Join(",", counts));
    }

    [Fact]
    public void MorePartitionsThanTheStackTakesAreWeightedWithoutNewArraysPerSwitch()
    {
        // 300 partitions, the last 100 with long queues: weights 51 for the first 200, 1 for the others.
        var queued = Enumerable.Range(0, 300).Select(p => p >= 200 ? 50 : 0).ToArray();
        var load = new FakeLoad(adaptive: true, queued: queued);
        var counts = CountChoices(load, partitionCount: 300, seed: 4);
        Assert.True(counts[..200].Sum() > counts[200..].Sum() * 10, $"{counts[..200].Sum()} against {counts[200..].Sum()}");

        // Each switch allocates its one small sticky state, not two arrays of 300 ints (2.4 KB) as it did.
        var sticky = new StickyPartitioner(batchSize: 1, new Random(9));
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            sticky.OnAppended("t", sticky.CurrentPartition("t", 300, [], load), 1);
        }

        Assert.InRange((GC.GetAllocatedBytesForCurrentThread() - before) / 1000, 0, 100);
    }

    [Fact]
    public void QueuesAreReadOnlyWhenSwitching()
    {
        var reads = new int[1];
        var sticky = new StickyPartitioner(batchSize: 100, new Random(1));
        var load = new CountingLoad(reads);
        var first = sticky.CurrentPartition("t", 8, [], load);
        var readsAfterChoice = reads[0];
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(first, sticky.CurrentPartition("t", 8, [], load));
            sticky.OnAppended("t", first, 1);
        }

        Assert.Equal(readsAfterChoice, reads[0]);
    }

    private static int[] CountChoices(FakeLoad load, int partitionCount, int seed, int[]? available = null)
    {
        var sticky = new StickyPartitioner(batchSize: 1, new Random(seed));
        var counts = new int[partitionCount];
        for (var i = 0; i < Switches; i++)
        {
            var partition = sticky.CurrentPartition("t", partitionCount, available ?? [], load);
            counts[partition]++;
            sticky.OnAppended("t", partition, 1);
        }

        return counts;
    }

    private readonly struct CountingLoad(int[] reads) : IPartitionLoad
    {
        public bool Adaptive => true;

        public long AvailabilityTimeoutMs => 0;

        public long NowMs => 0;

        public int QueuedBatches(int partition)
        {
            reads[0]++;
            return partition;
        }

        public long ReadyWaitingSinceMs(int partition) => 0;
    }
}
