using Samsa.Diagnostics;

namespace Samsa.Tests.Producer;

public sealed class LogLimiterTests
{
    [Fact]
    public void TheFirstEntryPassesAndTheRestOfTheIntervalIsCounted()
    {
        var limiter = new LogLimiter(TimeSpan.FromHours(1));

        Assert.True(limiter.TryEnter(out var suppressed));
        Assert.Equal(0, suppressed);
        for (var i = 0; i < 5; i++)
        {
            Assert.False(limiter.TryEnter(out _));
        }

        // A state change lets the next entry through at once; what was held back before it is forgotten.
        limiter.Reset();
        Assert.True(limiter.TryEnter(out suppressed));
        Assert.Equal(0, suppressed);
    }

    [Fact]
    public void AnEntryAfterTheIntervalCarriesTheCountHeldBack()
    {
        long now = 1_000;
        var limiter = new LogLimiter(TimeSpan.FromSeconds(30), () => now);
        Assert.True(limiter.TryEnter(out _));
        for (var i = 0; i < 3; i++)
        {
            now += 9_000;
            Assert.False(limiter.TryEnter(out _));
        }

        now += 3_000; // 30 s after the first entry
        Assert.True(limiter.TryEnter(out var suppressed));
        Assert.Equal(3, suppressed);
        Assert.False(limiter.TryEnter(out _));
    }

    [Fact]
    public async Task ManyThreadsAtOnceLetExactlyOneEntryThrough()
    {
        var limiter = new LogLimiter(TimeSpan.FromHours(1));
        var passed = 0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 1000; i++)
            {
                if (limiter.TryEnter(out _))
                {
                    Interlocked.Increment(ref passed);
                }
            }
        })));

        Assert.Equal(1, passed);
        limiter.Reset();
        Assert.True(limiter.TryEnter(out _));
    }
}
