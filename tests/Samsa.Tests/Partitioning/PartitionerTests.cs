namespace Samsa.Tests.Partitioning;

public sealed class PartitionerTests
{
    private static readonly FakeLoad Uniform = new(adaptive: false);

    [Fact]
    public void StickyStaysUntilBatchSizeThenSwitches()
    {
        var sticky = new StickyPartitioner(batchSize: 100, new Random(42));
        var first = sticky.CurrentPartition("t", 6, [], Uniform);

        for (var i = 0; i < 9; i++)
        {
            Assert.Equal(first, sticky.CurrentPartition("t", 6, [], Uniform));
            sticky.OnAppended("t", first, 10); // 90 bytes after the loop: not yet
        }

        Assert.Equal(first, sticky.CurrentPartition("t", 6, [], Uniform));
        sticky.OnAppended("t", first, 10); // 100: the threshold
        var second = sticky.CurrentPartition("t", 6, [], Uniform);
        Assert.NotEqual(first, second);
        Assert.Equal(second, sticky.CurrentPartition("t", 6, [], Uniform));
    }

    [Fact]
    public void StickyNeverPicksTheSamePartitionTwiceInARow()
    {
        var sticky = new StickyPartitioner(batchSize: 1, new Random(1));
        var previous = sticky.CurrentPartition("t", 2, [], Uniform);
        for (var i = 0; i < 50; i++)
        {
            sticky.OnAppended("t", previous, 1);
            var next = sticky.CurrentPartition("t", 2, [], Uniform);
            Assert.NotEqual(previous, next);
            previous = next;
        }
    }

    [Fact]
    public void StickySpreadsOverAllPartitions()
    {
        var sticky = new StickyPartitioner(batchSize: 1, new Random(7));
        var seen = new HashSet<int>();
        for (var i = 0; i < 200; i++)
        {
            var p = sticky.CurrentPartition("t", 5, [], Uniform);
            seen.Add(p);
            sticky.OnAppended("t", p, 1);
        }

        Assert.Equal([0, 1, 2, 3, 4], seen.Order());
    }

    [Fact]
    public void StickyChoosesOnlyAvailablePartitions()
    {
        var sticky = new StickyPartitioner(batchSize: 1, new Random(3));
        int[] available = [1, 4];
        for (var i = 0; i < 50; i++)
        {
            var p = sticky.CurrentPartition("t", 6, available, Uniform);
            Assert.Contains(p, available);
            sticky.OnAppended("t", p, 5);
        }
    }

    [Fact]
    public void StickyLeavesAPartitionThatLostItsLeader()
    {
        var sticky = new StickyPartitioner(batchSize: 1000, new Random(5));
        var p = sticky.CurrentPartition("t", 4, [], Uniform);
        int[] others = [.. Enumerable.Range(0, 4).Where(x => x != p)];
        var moved = sticky.CurrentPartition("t", 4, others, Uniform);
        Assert.Contains(moved, others);
    }

    [Fact]
    public void StickySinglePartition()
    {
        var sticky = new StickyPartitioner(batchSize: 1);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(0, sticky.CurrentPartition("t", 1, [], Uniform));
            sticky.OnAppended("t", 0, 10);
        }

        Assert.Equal(3, sticky.CurrentPartition("u", 8, [3], Uniform));
    }

    [Fact]
    public void StickyTopicsAreIndependentAndStaleAppendsAreIgnored()
    {
        var sticky = new StickyPartitioner(batchSize: 10, new Random(11));
        var a = sticky.CurrentPartition("a", 10, [], Uniform);
        var b = sticky.CurrentPartition("b", 10, [], Uniform);
        sticky.OnAppended("a", a, 10);
        Assert.Equal(b, sticky.CurrentPartition("b", 10, [], Uniform));

        var a2 = sticky.CurrentPartition("a", 10, [], Uniform);
        sticky.OnAppended("a", a, 100); // a late append to the old partition
        Assert.Equal(a2, sticky.CurrentPartition("a", 10, [], Uniform));
        sticky.OnAppended("unknown-topic", 0, 100);
    }

    [Fact]
    public void StickyConcurrentUseStaysInRange()
    {
        var sticky = new StickyPartitioner(batchSize: 64);
        Parallel.For(0, 10_000, i =>
        {
            var topic = (i % 3).ToString(System.Globalization.CultureInfo.InvariantCulture);
            var p = sticky.CurrentPartition(topic, 7, [], Uniform);
            Assert.InRange(p, 0, 6);
            sticky.OnAppended(topic, p, 16);
        });
    }

    [Fact]
    public void RoundRobinCyclesPerTopicIgnoringKeys()
    {
        var rr = new RoundRobinPartitioner();
        var got = Enumerable.Range(0, 7).Select(i => rr.Partition("t", "same-key"u8, keyIsNull: false, partitionCount: 3)).ToArray();
        Assert.Equal([0, 1, 2, 0, 1, 2, 0], got);
        Assert.Equal(0, rr.Partition("other", [], keyIsNull: true, partitionCount: 3));
        Assert.Equal(1, rr.Partition("t", [], keyIsNull: true, partitionCount: 3));
    }

    [Fact]
    public void RoundRobinIsAnIPartitionerAndEvenUnderConcurrency()
    {
        var rr = new RoundRobinPartitioner();
        Assert.IsAssignableFrom<IPartitioner>(rr);
        var counts = new int[4];
        Parallel.For(0, 4000, _ => Interlocked.Increment(ref counts[rr.Partition("t", [], true, 4)]));
        Assert.All(counts, c => Assert.Equal(1000, c));
    }

    [Fact]
    public void DefaultExplicitPartitionWins()
    {
        var sticky = new StickyPartitioner(16384, new Random(1));
        Assert.Equal(2, DefaultPartitioner.Partition("t", 2, "foobar"u8, false, 3, PartitionerKind.Default, false, sticky, [], Uniform));
    }

    [Fact]
    public void DefaultKeyedRecordsHashKeylessRecordsStick()
    {
        var sticky = new StickyPartitioner(16384, new Random(1));
        Assert.Equal(6, DefaultPartitioner.Partition("t", null, "foobar"u8, false, 10, PartitionerKind.Default, false, sticky, [], Uniform));

        // An empty key is a key: it hashes rather than sticking.
        Assert.Equal(Murmur2.Partition([], 10), DefaultPartitioner.Partition("t", null, [], false, 10, PartitionerKind.Default, false, sticky, [], Uniform));

        var s = sticky.CurrentPartition("t", 10, [], Uniform);
        Assert.Equal(s, DefaultPartitioner.Partition("t", null, [], true, 10, PartitionerKind.Default, false, sticky, [], Uniform));
        Assert.Equal(s, DefaultPartitioner.Partition("t", null, "foobar"u8, false, 10, PartitionerKind.Default, ignoreKeys: true, sticky, [], Uniform));
    }

    [Fact]
    public void DefaultKeyedRecordsIgnoreAvailability()
    {
        var sticky = new StickyPartitioner(16384, new Random(1));
        Assert.Equal(6, DefaultPartitioner.Partition("t", null, "foobar"u8, false, 10, PartitionerKind.Default, false, sticky, [1, 2], Uniform));
    }
}
