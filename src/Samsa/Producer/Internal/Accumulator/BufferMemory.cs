namespace Samsa.Producer.Internal;

/// <summary>
/// <c>buffer.memory</c>: the bytes of records accepted but not yet reported. A record reserves
/// its encoded size when it is produced; a batch that stops taking records, and again once it is
/// encoded, raises its share to the arrays it really holds (<see cref="ProducerBatch.CoverHeldArrays"/>);
/// the whole batch gives it back once reported. So the producer's memory stays bounded however fast
/// callers produce.
/// </summary>
/// <remarks>
/// Records that find the buffer full wait in one queue and are granted in arrival order. The
/// thread that frees the bytes runs each granted waiter's <see cref="MemoryWaiter.OnGranted"/>
/// itself, one after another, so granted records are appended in the order they were produced:
/// thread-pool continuations, one per waiter, would race each other and reorder them.
/// Waiters with a deadline (<c>max.block.ms</c> for <c>ProduceAsync</c>) share one timer, armed for the
/// earliest: they queue in arrival order with the same wait, so their deadlines come in queue order too.
/// </remarks>
internal sealed class BufferMemory(long limit)
{
    // Reserving and releasing are lock-free while nobody waits; the lock guards only the queues.
    private readonly object _lock = new();
    private Timer? _expiryTimer;
    private bool _expiryArmed;
    private readonly LinkedList<MemoryWaiter> _waiting = new();
    private readonly Queue<MemoryWaiter> _granted = new();
    private bool _runningGrants;
    private long _used;

    // Waiting plus granted-but-not-yet-run. While above zero, TryReserve refuses, so a new record
    // cannot overtake one that waits, nor one whose grant has not been appended yet.
    private int _waiterCount;

    public long Limit { get; } = limit;

    public long Used => Interlocked.Read(ref _used);

    /// <summary>Records waiting for memory (for the close's log line).</summary>
    public int WaiterCount => Volatile.Read(ref _waiterCount);

    public bool TryReserve(int bytes) => Volatile.Read(ref _waiterCount) == 0 && TryAdd(bytes);

    /// <summary>
    /// Reserves the waiter's bytes at once (true) when nobody waits and they fit. Otherwise queues
    /// it (false): its <see cref="MemoryWaiter.OnGranted"/> runs exactly once, in queue order, once
    /// the bytes are reserved for it (possibly before this method returns), unless it is withdrawn first.
    /// </summary>
    public bool ReserveOrEnqueue(MemoryWaiter waiter)
    {
        lock (_lock)
        {
            if (_waiterCount == 0 && TryAdd(waiter.Bytes))
            {
                return true;
            }

            waiter.Node = _waiting.AddLast(waiter);
            _waiterCount++;
            if (waiter.ExpiresAtMs != long.MaxValue && !_expiryArmed)
            {
                ArmExpiryLocked(waiter.ExpiresAtMs);
            }

            // A release that ran before the count went up did not look for waiters: look now.
            GrantLocked();
        }

        RunGranted();
        return false;
    }

    /// <summary>
    /// Takes a waiter out of the queue if it has not been granted yet (true: it never will be).
    /// False once granted: its bytes are reserved and its <see cref="MemoryWaiter.OnGranted"/> runs or ran.
    /// </summary>
    public bool TryWithdraw(MemoryWaiter waiter)
    {
        lock (_lock)
        {
            if (waiter.Node is not { List: not null } node)
            {
                return false;
            }

            _waiting.Remove(node);
            _waiterCount--;

            // A big waiter at the head may have held back smaller ones behind it.
            GrantLocked();
        }

        RunGranted();
        return true;
    }

    /// <summary>Takes every waiter not granted yet out of the queue, in arrival order (the producer is closing).</summary>
    public List<MemoryWaiter> WithdrawAll()
    {
        lock (_lock)
        {
            var withdrawn = new List<MemoryWaiter>(_waiting);
            _waiting.Clear();
            _waiterCount -= withdrawn.Count;
            return withdrawn;
        }
    }

    /// <summary>
    /// Counts bytes a batch already holds beyond its records' reservations (the spare room of its arrays, its
    /// compression output), even past the limit: they are allocated, so refusing them would only hide them.
    /// Records that come after wait until reports bring the total back under the limit.
    /// </summary>
    public void ForceReserve(int bytes) => Interlocked.Add(ref _used, bytes);

    public void Release(int bytes)
    {
        if (bytes == 0)
        {
            return;
        }

        Interlocked.Add(ref _used, -bytes);
        if (Volatile.Read(ref _waiterCount) > 0)
        {
            lock (_lock)
            {
                GrantLocked();
            }

            RunGranted();
        }
    }

    private void ArmExpiryLocked(long atMs)
    {
        _expiryTimer ??= new Timer(static state => ((BufferMemory)state!).ExpireWaiters(), this, Timeout.Infinite, Timeout.Infinite);
        _expiryArmed = true;
        _expiryTimer.Change(Math.Max(0, atMs - MonotonicClock.NowMs), Timeout.Infinite);
    }

    // Hands every waiter whose deadline passed to its own expiry (which withdraws it unless it was
    // granted meanwhile), then re-arms for the next deadline. Waiters without one (a blocked Produce
    // times itself out) are passed over.
    private void ExpireWaiters()
    {
        List<MemoryWaiter>? due = null;
        lock (_lock)
        {
            _expiryArmed = false;
            var now = MonotonicClock.NowMs;
            for (var node = _waiting.First; node is not null; node = node.Next)
            {
                var expiresAt = node.Value.ExpiresAtMs;
                if (expiresAt == long.MaxValue)
                {
                    continue;
                }

                if (expiresAt > now)
                {
                    ArmExpiryLocked(expiresAt);
                    break;
                }

                (due ??= []).Add(node.Value);
            }
        }

        foreach (var waiter in due ?? [])
        {
            waiter.OnWaitExpired();
        }
    }

    private bool TryAdd(int bytes)
    {
        while (true)
        {
            var used = Interlocked.Read(ref _used);
            if (used + bytes > Limit)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _used, used + bytes, used) == used)
            {
                return true;
            }
        }
    }

    private void GrantLocked()
    {
        while (_waiting.First is { } first && TryAdd(first.Value.Bytes))
        {
            _waiting.RemoveFirst();
            _granted.Enqueue(first.Value);
        }
    }

    // Outside the lock: a granted record is appended to its partition, and a failed append
    // releases memory again, which comes back here (and finds the grants already being run).
    private void RunGranted()
    {
        lock (_lock)
        {
            if (_runningGrants || _granted.Count == 0)
            {
                return;
            }

            _runningGrants = true;
        }

        while (true)
        {
            MemoryWaiter next;
            lock (_lock)
            {
                if (!_granted.TryDequeue(out next!))
                {
                    _runningGrants = false;
                    return;
                }
            }

            next.OnGranted();
            lock (_lock)
            {
                _waiterCount--;
            }
        }
    }
}

/// <summary>A reservation of <c>buffer.memory</c> that could not be made at once and waits its turn.</summary>
internal abstract class MemoryWaiter(int bytes)
{
    public int Bytes { get; protected set; } = bytes;

    /// <summary>Its place in the wait queue; detached once granted or withdrawn.</summary>
    public LinkedListNode<MemoryWaiter>? Node { get; set; }

    /// <summary>When (<see cref="MonotonicClock"/> ms) <see cref="OnWaitExpired"/> runs if it still waits; long.MaxValue: never.</summary>
    public long ExpiresAtMs { get; init; } = long.MaxValue;

    /// <summary>
    /// The bytes are now reserved for this waiter. Runs on the thread that freed them, before any
    /// later waiter's; it must not block nor throw (user callbacks it reaches are caught).
    /// </summary>
    public abstract void OnGranted();

    /// <summary>The producer closes while this waiter is still queued (it holds no memory): fail it.</summary>
    public abstract void Fail(KafkaException error);

    /// <summary>
    /// <see cref="ExpiresAtMs"/> passed while it was queued; it may have been granted since, so whoever
    /// handles this withdraws it first. Runs on the expiry timer, outside every lock.
    /// </summary>
    public virtual void OnWaitExpired()
    {
    }
}
