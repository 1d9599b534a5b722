using System.Threading.Tasks.Sources;

namespace Samsa.Producer.Internal;

/// <summary>
/// Wakes one waiting loop. Setting it many times before the loop wakes counts once, so the
/// produce path can signal freely; the loop sleeps until signalled or until its own deadline.
/// </summary>
/// <remarks>
/// A sender loop waits once per request or linger deadline, so the wait itself must not allocate:
/// one reusable completion source, one timer re-armed per wait, one cancellation registration for the
/// signal's lifetime (where <see cref="SemaphoreSlim.WaitAsync(TimeSpan, CancellationToken)"/> allocates
/// a task, a promise and a timer for each wait). A timer that fires late, for a wait that a signal already
/// ended, may end the next wait early; the loop then looks once more and sleeps again.
/// </remarks>
internal sealed class AsyncSignal : IValueTaskSource<bool>, IDisposable
{
    private const int Idle = 0;
    private const int Signalled = 1;
    private const int Waiting = 2;

    private readonly Timer _timer;
    private readonly CancellationToken _cancellation;
    private readonly CancellationTokenRegistration _registration;
    private ManualResetValueTaskSourceCore<bool> _completion = new() { RunContinuationsAsynchronously = true };
    private int _state;

    /// <param name="cancellation">Ends a wait with <see cref="OperationCanceledException"/>, and every wait after it.</param>
    public AsyncSignal(CancellationToken cancellation)
    {
        _cancellation = cancellation;
        _timer = new Timer(static state => _ = ((AsyncSignal)state!).EndWait(signalled: false), this, Timeout.Infinite, Timeout.Infinite);
        _registration = cancellation.UnsafeRegister(static state => _ = ((AsyncSignal)state!).EndWait(signalled: false), this);
    }

    public void Set()
    {
        while (true)
        {
            switch (Volatile.Read(ref _state))
            {
                case Signalled:
                    return;
                case Idle when Interlocked.CompareExchange(ref _state, Signalled, Idle) == Idle:
                    return;
                case Waiting when EndWait(signalled: true):
                    return;
            }

            // The state changed under us (a timeout ended the wait, or a wait began): look again, so that
            // the signal is never lost.
        }
    }

    /// <summary>
    /// Waits for a signal: true if one came, false when <paramref name="timeout"/> passed first.
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits without a deadline. One wait at a time, each awaited
    /// once before the next starts.
    /// </summary>
    public ValueTask<bool> WaitAsync(TimeSpan timeout)
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Signalled) == Signalled)
        {
            return new ValueTask<bool>(true);
        }

        _cancellation.ThrowIfCancellationRequested();
        _completion.Reset();
        if (Interlocked.CompareExchange(ref _state, Waiting, Idle) != Idle)
        {
            // Signalled since the first look.
            Volatile.Write(ref _state, Idle);
            return new ValueTask<bool>(true);
        }

        if (timeout != Timeout.InfiniteTimeSpan)
        {
            _timer.Change(timeout, Timeout.InfiniteTimeSpan);
        }

        // Cancelled between the check above and the state change: its callback found nothing waiting.
        if (_cancellation.IsCancellationRequested)
        {
            _ = EndWait(signalled: false);
        }

        return new ValueTask<bool>(this, _completion.Version);
    }

    public void Dispose()
    {
        _registration.Dispose();
        _timer.Dispose();
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _completion.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _completion.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _completion.OnCompleted(continuation, state, token, flags);

    // Whoever moves the state from Waiting ends the wait; everyone else finds it ended already (false).
    private bool EndWait(bool signalled)
    {
        if (Interlocked.CompareExchange(ref _state, Idle, Waiting) != Waiting)
        {
            return false;
        }

        if (!signalled && _cancellation.IsCancellationRequested)
        {
            _completion.SetException(new OperationCanceledException(_cancellation));
        }
        else
        {
            _completion.SetResult(signalled);
        }

        return true;
    }
}
