namespace Samsa.Producer.Internal;

/// <summary>
/// <c>buffer.memory</c>: the bytes of records accepted but not yet reported. A record reserves
/// its encoded size when it is appended and the whole batch gives it back once reported, so the
/// producer's memory stays bounded however fast callers produce.
/// </summary>
internal sealed class BufferMemory(long limit)
{
    // Reserving and releasing are lock-free while nobody waits; the lock guards only the waiters.
    private readonly object _lock = new();
    private readonly LinkedList<Waiter> _waiters = new();
    private long _used;
    private int _waiterCount;

    public long Limit { get; } = limit;

    public long Used => Interlocked.Read(ref _used);

    public bool TryReserve(int bytes) =>
        // Waiters go first, in arrival order, so a stream of small records cannot starve a big one.
        Volatile.Read(ref _waiterCount) == 0 && TryAdd(bytes);

    /// <summary>Takes the bytes even past the limit, for records that cannot wait (see callers).</summary>
    public void ForceReserve(int bytes) => Interlocked.Add(ref _used, bytes);

    /// <summary>Waits asynchronously until the bytes can be reserved; false if <paramref name="timeout"/> passed first.</summary>
    public async Task<bool> ReserveAsync(int bytes, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (Enqueue(bytes) is not { } waiter)
        {
            return true;
        }

        try
        {
            await waiter.Granted.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is TimeoutException or OperationCanceledException)
        {
            Abandon(waiter);
            if (e is OperationCanceledException)
            {
                throw;
            }

            return false;
        }
    }

    /// <summary>Blocks the calling thread until the bytes can be reserved; false if <paramref name="timeout"/> passed first.</summary>
    public bool Reserve(int bytes, TimeSpan timeout)
    {
        if (Enqueue(bytes) is not { } waiter)
        {
            return true;
        }

        // Granted by Release on the reporting loop, which needs no thread of the caller's.
        if (waiter.Granted.Task.Wait(timeout))
        {
            return true;
        }

        Abandon(waiter);
        return false;
    }

    private Waiter? Enqueue(int bytes)
    {
        lock (_lock)
        {
            if (_waiters.Count == 0 && TryAdd(bytes))
            {
                return null;
            }

            var waiter = new Waiter(bytes);
            waiter.Node = _waiters.AddLast(waiter);
            _waiterCount++;

            // A release that ran before the count went up did not look for waiters: look now.
            GrantLocked();
            return waiter;
        }
    }

    private void Abandon(Waiter waiter)
    {
        lock (_lock)
        {
            if (waiter.Granted.Task.IsCompletedSuccessfully)
            {
                // Granted just as the wait ended: the caller gives up, so give the bytes back.
                Interlocked.Add(ref _used, -waiter.Bytes);
            }
            else
            {
                _waiters.Remove(waiter.Node!);
                _waiterCount--;
            }

            GrantLocked();
        }
    }

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
        while (_waiters.First is { } first && TryAdd(first.Value.Bytes))
        {
            _waiters.RemoveFirst();
            _waiterCount--;
            first.Value.Granted.TrySetResult();
        }
    }

    private sealed class Waiter(int bytes)
    {
        public int Bytes { get; } = bytes;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public LinkedListNode<Waiter>? Node { get; set; }
    }
}
