using Samsa.Producer.Internal;

namespace Samsa.Tests.Producer;

/// <summary>The delivery-timeout sweep runs exactly while batches are pending.</summary>
public sealed class SweepScheduleTests
{
    [Fact]
    public void ABatchOpenedDuringTheLastScanStillGetsASweep()
    {
        var scheduled = 0;
        var schedule = new SweepSchedule(() => scheduled++);
        schedule.Arm();
        Assert.Equal(1, scheduled);

        // The sweep scans and finds nothing; meanwhile a batch opens, finds the schedule armed, and
        // leaves it be. Disarming without looking again would leave that batch unswept.
        schedule.Arm();
        Assert.Equal(1, scheduled);
        schedule.AfterSweep(pending: false, anyPending: () => true);

        Assert.Equal(2, scheduled);
    }

    [Fact]
    public void AnIdleProducerStopsSweepingAndTheNextBatchStartsAgain()
    {
        var scheduled = 0;
        var schedule = new SweepSchedule(() => scheduled++);
        schedule.Arm();
        schedule.AfterSweep(pending: true, anyPending: () => true);
        Assert.Equal(2, scheduled);
        schedule.AfterSweep(pending: false, anyPending: () => false);
        Assert.Equal(2, scheduled);
        schedule.Arm();
        schedule.Arm();
        Assert.Equal(3, scheduled);
    }
}
