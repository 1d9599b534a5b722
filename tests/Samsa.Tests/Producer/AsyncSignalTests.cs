using Samsa.Producer.Internal;

namespace Samsa.Tests.Producer;

/// <summary>The sender loop's wake-up: a signal is never lost, a deadline ends a wait, stopping ends it at once.</summary>
public sealed class AsyncSignalTests
{
    [Fact]
    public async Task ASignalBeforeTheWaitEndsItAtOnceAndCountsOnce()
    {
        using var signal = new AsyncSignal(CancellationToken.None);
        signal.Set();
        signal.Set();

        Assert.True(await signal.WaitAsync(Timeout.InfiniteTimeSpan));
        Assert.False(await signal.WaitAsync(TimeSpan.FromMilliseconds(20)));
    }

    [Fact]
    public async Task ASignalDuringTheWaitEndsIt()
    {
        using var signal = new AsyncSignal(CancellationToken.None);
        var wait = signal.WaitAsync(Timeout.InfiniteTimeSpan);
        Assert.False(wait.IsCompleted);

        signal.Set();

        Assert.True(await wait.AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task StoppingEndsAWaitAndEveryLaterOne()
    {
        using var stop = new CancellationTokenSource();
        using var signal = new AsyncSignal(stop.Token);
        var wait = signal.WaitAsync(Timeout.InfiniteTimeSpan);

        await stop.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await wait.AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await signal.WaitAsync(Timeout.InfiniteTimeSpan));
    }

    [Fact]
    public async Task NoSignalIsLostWhileWaitsTimeOutAroundIt()
    {
        // A waiter that sleeps with a short deadline and a setter racing it: after the setter's last
        // Set, the waiter must see a signal (or a timeout that lets it look) and observe the last value.
        using var signal = new AsyncSignal(CancellationToken.None);
        const int Rounds = 20_000;
        var published = 0;
        var setter = Task.Run(() =>
        {
            for (var i = 1; i <= Rounds; i++)
            {
                Volatile.Write(ref published, i);
                signal.Set();
            }
        });

        var seen = 0;
        while (seen < Rounds)
        {
            await signal.WaitAsync(setter.IsCompleted ? Timeout.InfiniteTimeSpan : TimeSpan.FromMilliseconds(1)).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            seen = Volatile.Read(ref published);
        }

        await setter;
        Assert.Equal(Rounds, seen);
    }
}
