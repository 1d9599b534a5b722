using Samsa.Producer.Internal;

namespace Samsa.Tests.Producer;

public sealed class BufferMemoryTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

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
    public async Task AWaiterIsGrantedWhenEnoughIsReleased()
    {
        var memory = new BufferMemory(100);
        Assert.True(memory.TryReserve(90));
        var waiting = memory.ReserveAsync(50, Bound, CancellationToken.None);
        Assert.False(waiting.IsCompleted);

        memory.Release(30);
        Assert.False(waiting.IsCompleted); // 60 + 50 is still over the limit
        memory.Release(30);
        Assert.True(await waiting.WaitAsync(Bound));
        Assert.Equal(80, memory.Used);
    }

    [Fact]
    public void WaitersGoFirstSoSmallReservationsCannotStarveThem()
    {
        var memory = new BufferMemory(100);
        Assert.True(memory.TryReserve(100));
        var big = memory.ReserveAsync(80, Bound, CancellationToken.None);
        memory.Release(30);
        Assert.False(memory.TryReserve(10));
        Assert.False(big.IsCompleted);
    }

    [Fact]
    public async Task ATimedOutWaiterGivesWayToTheNext()
    {
        var memory = new BufferMemory(100);
        Assert.True(memory.TryReserve(100));
        Assert.False(await memory.ReserveAsync(80, TimeSpan.FromMilliseconds(50), CancellationToken.None));
        memory.Release(50);
        Assert.True(memory.TryReserve(50));
        Assert.Equal(100, memory.Used);
    }

    [Fact]
    public async Task TheBlockingReserveWaitsForARelease()
    {
        var memory = new BufferMemory(10);
        Assert.True(memory.TryReserve(10));
        var releaser = Task.Run(async () =>
        {
            await Task.Delay(50);
            memory.Release(10);
        });

        Assert.True(memory.Reserve(5, Bound));
        await releaser;
        Assert.Equal(5, memory.Used);
    }
}
