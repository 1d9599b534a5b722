namespace Samsa.Diagnostics;

/// <summary>
/// Lets one log entry through per interval and counts the ones held back, so that a failure repeated for every
/// record or every reconnect shows up in the log at once without flooding it. Lock-free and allocation-free: it may
/// sit on the per-record path.
/// </summary>
/// <param name="interval">How long after an entry the next ones are held back.</param>
/// <param name="nowMs">A monotonic clock in ms, for tests; <see cref="Environment.TickCount64"/> by default.</param>
internal sealed class LogLimiter(TimeSpan interval, Func<long>? nowMs = null)
{
    private readonly long _intervalMs = (long)interval.TotalMilliseconds;
    private readonly Func<long>? _nowMs = nowMs;
    private long _nextMs = long.MinValue;
    private int _suppressed;

    /// <summary>True when this entry may be logged; <paramref name="suppressed"/> is then how many were held back since the last one.</summary>
    public bool TryEnter(out int suppressed)
    {
        var now = _nowMs?.Invoke() ?? Environment.TickCount64;
        var next = Volatile.Read(ref _nextMs);
        if (now < next || Interlocked.CompareExchange(ref _nextMs, now + _intervalMs, next) != next)
        {
            Interlocked.Increment(ref _suppressed);
            suppressed = 0;
            return false;
        }

        suppressed = Interlocked.Exchange(ref _suppressed, 0);
        return true;
    }

    /// <summary>Lets the next entry through at once (a state change: a failure after a recovery is news again).</summary>
    public void Reset()
    {
        Volatile.Write(ref _nextMs, long.MinValue);
        Volatile.Write(ref _suppressed, 0);
    }
}
