namespace Samsa.Producer.Internal;

/// <summary>
/// A <c>Produce</c> caller blocked on <c>buffer.memory</c>, for a record whose topic is known. The thread waits
/// here and, once granted, appends its record itself from the scratch buffers it serialized into: a blocked call
/// copies nothing and allocates nothing, which matters because under sustained load every call past a full
/// buffer blocks. One per thread, reused; a thread blocks in one call at a time.
/// </summary>
/// <remarks>
/// The granting thread only wakes it, so records granted after it may be appended before it. Their callers are
/// other threads (this one is blocked), whose records have no order relative to this one's.
/// </remarks>
internal sealed class BlockedProduce() : MemoryWaiter(0)
{
    [ThreadStatic]
    private static BlockedProduce? t_current;

    private readonly object _lock = new();
    private bool _signalled;
    private KafkaException? _failure;

    /// <summary>Why the wait ended without memory (the producer closed); null once granted.</summary>
    public KafkaException? Failure
    {
        get
        {
            lock (_lock)
            {
                return _failure;
            }
        }
    }

    /// <summary>This thread's waiter, ready for a record of <paramref name="bytes"/>.</summary>
    public static BlockedProduce ForThisThread(int bytes)
    {
        var waiter = t_current ??= new BlockedProduce();
        waiter.Bytes = bytes;
        waiter._failure = null;
        waiter._signalled = false;
        return waiter;
    }

    /// <summary>Blocks until granted or failed; false if <paramref name="timeout"/> passed first.</summary>
    public bool Wait(TimeSpan timeout)
    {
        lock (_lock)
        {
            // Monitor.Wait may return before the signal (a timeout slice, a spurious wake-up): look at the flag.
            var deadline = timeout == Timeout.InfiniteTimeSpan ? long.MaxValue : Environment.TickCount64 + (long)timeout.TotalMilliseconds;
            while (!_signalled)
            {
                var left = deadline - Environment.TickCount64;
                if (left <= 0)
                {
                    return false;
                }

                Monitor.Wait(_lock, (int)Math.Min(left, int.MaxValue));
            }

            return true;
        }
    }

    public override void OnGranted() => Signal(null);

    public override void Fail(KafkaException error) => Signal(error);

    private void Signal(KafkaException? failure)
    {
        lock (_lock)
        {
            _failure = failure;
            _signalled = true;
            Monitor.PulseAll(_lock);
        }
    }
}
