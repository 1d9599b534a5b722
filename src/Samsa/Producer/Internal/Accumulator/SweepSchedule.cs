namespace Samsa.Producer.Internal;

/// <summary>
/// Keeps the delivery-timeout sweep running exactly while batches are pending, so that an idle
/// producer wakes nobody: the first batch arms it, each sweep re-schedules it while batches remain,
/// and the last sweep disarms it.
/// </summary>
/// <remarks>
/// A batch opened while a sweep is scanning finds the schedule still armed and leaves it be, so a
/// sweep that found nothing pending disarms first and then looks once more: otherwise that batch
/// would never be swept, and a leaderless partition would never expire or refresh its metadata.
/// </remarks>
internal sealed class SweepSchedule(Action scheduleNextSweep)
{
    private int _armed;

    /// <summary>A batch was opened: makes sure a sweep is coming.</summary>
    public void Arm()
    {
        if (Interlocked.Exchange(ref _armed, 1) == 0)
        {
            scheduleNextSweep();
        }
    }

    /// <summary>A sweep ended; <paramref name="pending"/> tells whether it left batches behind.</summary>
    public void AfterSweep(bool pending, Func<bool> anyPending)
    {
        if (pending)
        {
            scheduleNextSweep();
            return;
        }

        Volatile.Write(ref _armed, 0);
        if (anyPending())
        {
            Arm();
        }
    }
}
