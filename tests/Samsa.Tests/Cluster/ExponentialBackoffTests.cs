using Samsa.Cluster;

namespace Samsa.Tests.Cluster;

/// <summary>The connect timeout and reconnect backoff of KIP-601 / Java's <c>ExponentialBackoff</c>.</summary>
public sealed class ExponentialBackoffTests
{
    [Fact]
    public void DoublesPerFailureWithTwentyPercentJitterUpToTheCap()
    {
        // socket.connection.setup.timeout.ms=10000, .max.ms=30000 (the defaults).
        var backoff = new ExponentialBackoff(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), new Random(5));
        for (var i = 0; i < 200; i++)
        {
            Assert.InRange(backoff.After(0).TotalMilliseconds, 8_000, 12_000);
            Assert.InRange(backoff.After(1).TotalMilliseconds, 16_000, 24_000);
            Assert.InRange(backoff.After(2).TotalMilliseconds, 24_000, 30_000);
            Assert.InRange(backoff.After(50).TotalMilliseconds, 24_000, 30_000);
        }
    }

    [Fact]
    public void JitterSpreadsTheWaits()
    {
        var backoff = new ExponentialBackoff(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30), new Random(9));
        var waits = Enumerable.Range(0, 50).Select(_ => backoff.After(0)).Distinct().Count();
        Assert.True(waits > 40, $"only {waits} distinct waits out of 50");
    }

    [Fact]
    public void CapAtOrBelowTheInitialWaitKeepsTheInitialWait()
    {
        var backoff = new ExponentialBackoff(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5), new Random(1));
        Assert.Equal(TimeSpan.FromSeconds(10), backoff.After(0));
        Assert.Equal(TimeSpan.FromSeconds(10), backoff.After(7));
    }
}
