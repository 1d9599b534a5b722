namespace Samsa.Cli.Tests;

public sealed class LatencyHistogramTests
{
    [Fact]
    public void PercentilesAreWithinBucketPrecision()
    {
        var h = new LatencyHistogram();
        for (var us = 1; us <= 100_000; us++)
        {
            h.Record(us);
        }

        Assert.Equal(100_000, h.Count);
        Assert.Equal(100.0, h.MaxMs);
        Assert.InRange(h.PercentileMs(0.50), 50.0, 50.0 * 1.016);
        Assert.InRange(h.PercentileMs(0.99), 99.0, 99.0 * 1.016);
        Assert.InRange(h.AverageMs, 50.0, 50.01);
    }

    [Fact]
    public void BucketsCoverEveryValueInOrder()
    {
        var previous = -1;
        foreach (var v in new long[] { 0, 1, 127, 128, 129, 1000, 123_456, 1L << 40, long.MaxValue })
        {
            var index = LatencyHistogram.Index(v);
            Assert.True(index >= previous);
            Assert.True(v > 1L << 46 || LatencyHistogram.UpperBound(index) >= v);
            previous = index;
        }
    }
}
