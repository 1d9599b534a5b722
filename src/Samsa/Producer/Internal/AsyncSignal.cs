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

    /// <summary>Waits for a signal; <see cref="Timeout.InfiniteTimeSpan"/> waits without a deadline.</summary>
    public async ValueTask WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (await _semaphore.WaitAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            Volatile.Write(ref _isSet, 0);
        }
    }

    public void Dispose() => _semaphore.Dispose();
}
