using Samsa.Producer.Internal;

namespace Samsa.Tests.Producer;

public sealed class BufferMemoryTests
{
    [Fact]
    public void ReservesUpToTheLimitAndNoFurther()
    {
        var memory = new BufferMemory(100);
        Assert.True(memory.TryReserve(60));
        Assert.True(memory.TryReserve(40));
        Assert.False(memory.TryReserve(1));
        Assert.Equal(100, memory.Used);
    }

    [Fact]
    public void AWaiterIsGrantedWhenEnoughIsReleased()
    {
        var memory = new BufferMemory(100);
        Assert.True(memory.TryReserve(90));
        var waiter = new RecordingWaiter(50, []);
        Assert.False(memory.ReserveOrEnqueue(waiter));

        memory.Release(30);
        Assert.False(waiter.Granted); // 60 + 50 is still over the limit
        memory.Release(30);
        Assert.True(waiter.Granted);
        Assert.Equal(80, memory.Used);
    }

    [Fact]
    public void WaitersGoFirstSoSmallReservationsCannotStarveThem()
    {
        var memory = new BufferMemory(100);
        Assert.True(memory.TryReserve(100));
        var big = new RecordingWaiter(80, []);
        Assert.False(memory.ReserveOrEnqueue(big));
        memory.Release(30);
        Assert.False(memory.TryReserve(10));
        Assert.False(big.Granted);
    }

    [Fact]
    public void AWithdrawnWaiterGivesWayToTheNext()
    {
        var memory = new BufferMemory(100);
        Assert.True(memory.TryReserve(100));
        var order = new List<int>();
        var big = new RecordingWaiter(80, order);
        var small = new RecordingWaiter(50, order);
        Assert.False(memory.ReserveOrEnqueue(big));
        Assert.False(memory.ReserveOrEnqueue(small));
        memory.Release(50);
        Assert.Empty(order); // the big one at the head holds the small one back

        Assert.True(memory.TryWithdraw(big));
        Assert.Equal([50], order);
        Assert.False(memory.TryWithdraw(small)); // granted already
        Assert.Equal(100, memory.Used);
    }

    [Fact]
    public void GrantedWaitersRunInArrivalOrderOnTheReleasingThread()
    {
        var memory = new BufferMemory(100);
        Assert.True(memory.TryReserve(100));
        var order = new List<int>();
        var waiters = Enumerable.Range(1, 10).Select(i => new RecordingWaiter(i, order)).ToList();
        foreach (var waiter in waiters)
        {
            Assert.False(memory.ReserveOrEnqueue(waiter));
        }

        // Until every grant has run, no newcomer may slip in ahead of the waiters.
        memory.Release(20);
        Assert.Equal([1, 2, 3, 4, 5], order);
        Assert.False(memory.TryReserve(1));

        memory.Release(80);
        Assert.Equal(Enumerable.Range(1, 10), order);
        Assert.True(memory.TryReserve(1));
    }

    [Fact]
    public void WithdrawAllTakesEveryWaiterNotYetGranted()
    {
        var memory = new BufferMemory(10);
        Assert.True(memory.TryReserve(10));
        var first = new RecordingWaiter(5, []);
        var second = new RecordingWaiter(5, []);
        Assert.False(memory.ReserveOrEnqueue(first));
        Assert.False(memory.ReserveOrEnqueue(second));

        Assert.Equal([first, second], memory.WithdrawAll());
        memory.Release(10);
        Assert.False(first.Granted);
        Assert.True(memory.TryReserve(10));
    }

    [Fact]
    public async Task OneTimerExpiresEachWaiterAtItsDeadlineAndPassesOverThoseWithout()
    {
        var memory = new BufferMemory(10);
        Assert.True(memory.TryReserve(10));
        var now = MonotonicClock.NowMs;
        var soon = new RecordingWaiter(5, []) { ExpiresAtMs = now + 50 };
        var blocked = new RecordingWaiter(5, []); // a blocked Produce: no deadline here
        var later = new RecordingWaiter(5, []) { ExpiresAtMs = now + 300 };
        var never = new RecordingWaiter(5, []) { ExpiresAtMs = now + 3_600_000 };
        foreach (var waiter in new[] { soon, blocked, later, never })
        {
            Assert.False(memory.ReserveOrEnqueue(waiter));
        }

        await soon.Expired.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(memory.TryWithdraw(soon)); // what an expiry handler does
        await later.Expired.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(MonotonicClock.NowMs >= now + 300);
        Assert.False(blocked.Expired.Task.IsCompleted);
        Assert.False(never.Expired.Task.IsCompleted);
    }

    private sealed class RecordingWaiter(int bytes, List<int> order) : MemoryWaiter(bytes)
    {
        public bool Granted { get; private set; }

        public TaskCompletionSource Expired { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override void OnWaitExpired() => Expired.TrySetResult();

        public override void OnGranted()
        {
            Granted = true;
            order.Add(Bytes);
        }

        public override void Fail(KafkaException error) => throw new InvalidOperationException("not used here", error);
    }
}
