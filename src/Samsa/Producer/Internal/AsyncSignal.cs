namespace Samsa.Producer.Internal;

/// <summary>
/// Wakes one waiting loop. Setting it many times before the loop wakes counts once, so the
/// produce path can signal freely; the loop sleeps until signalled or until its own deadline.
/// </summary>
internal sealed class AsyncSignal : IDisposable
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);
    private int _isSet;

    public void Set()
    {
        if (Interlocked.Exchange(ref _isSet, 1) == 0)
        {
            _semaphore.Release();
        }
    }

    /// <summary>
    /// Waits for a signal; <see cref="Timeout.InfiniteTimeSpan"/> waits without a deadline. The
    /// caller passes the result to <see cref="Consumed"/>; keeping this method free of async
    /// spares a state machine per wait.
    /// </summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _semaphore.WaitAsync(timeout, cancellationToken);

    /// <summary>Re-arms the signal after a wait that ended with one.</summary>
    public void Consumed(bool signalled)
    {
        if (signalled)
        {
            Volatile.Write(ref _isSet, 0);
        }
    }

    public void Dispose() => _semaphore.Dispose();
}
